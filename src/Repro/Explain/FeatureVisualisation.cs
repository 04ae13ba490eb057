using Repro.Attacks;
using Repro.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// Feature visualisation (Engstrom et al. 2019): push one component of the representation (the
/// input of the last linear layer) as high as it goes with PGD, starting from an image or from
/// noise. The article uses L2 PGD with eps 1000 (effectively unconstrained), step 5, 20 steps
/// from an image and 200 from noise.
/// </summary>
public static class FeatureVisualisation
{
    /// <summary>Maximises representation component <paramref name="component"/> with PGD (ascent) from <paramref name="start"/>.</summary>
    /// <param name="model">The classifier; must implement <see cref="IRepresentationModel"/>.</param>
    /// <param name="start">Starting images [N,C,H,W] in [0,1] (an image or noise).</param>
    /// <param name="component">Index into the representation [N,D].</param>
    /// <param name="threat">The ball around <paramref name="start"/> (the article: L2, eps 1000).</param>
    /// <param name="run">Seed (of the random start, if any), example ids, progress and precision.</param>
    /// <param name="options">PGD steps and step size.</param>
    /// <exception cref="ReproInputException">The model does not implement <see cref="IRepresentationModel"/>.</exception>
    public static AttackResult Maximise(nn.Module<Tensor, Tensor> model, Tensor start, int component, ThreatModel threat, AttackRun run, PgdOptions options)
    {
        if (model is not IRepresentationModel representation)
            throw new ReproInputException($"model {model.GetName()} does not expose its representation (IRepresentationModel): feature visualisation needs it");
        var objective = new CustomObjective(images => representation.Representation(images)[.., component], Direction.Ascend, model);
        return Pgd.Run(objective, start, threat, run, options with { NoisePurpose = RandomPurpose.FeatureVisualisationStart });
    }

    /// <summary>The chosen component of the representation, per example (model frozen and in eval mode while measured).</summary>
    public static Tensor Component(nn.Module<Tensor, Tensor> model, Tensor images, int component)
    {
        using var frozen = new FrozenParameters([model]);
        using var _ = no_grad();
        return ((IRepresentationModel)model).Representation(images)[.., component].clone();
    }
}
