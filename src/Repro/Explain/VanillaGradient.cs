using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// The plain input gradient of the target score (Simonyan et al. 2013): the tutorial's "saliency map".
/// With a low <paramref name="precision"/> the model's forward and input-backward run in it
/// (<see cref="LowPrecision"/>); the images, the target score's reduction and the returned map are float32.
/// </summary>
/// <param name="model">The classifier: images [N,C,H,W] in [0,1] to logits.</param>
/// <param name="precision">The precision of the model's passes; default float32.</param>
public sealed class VanillaGradient(nn.Module<Tensor, Tensor> model, AttackPrecision precision = AttackPrecision.Float32) : IAttribution
{
    /// <summary>The precision of the model's forward and input-backward passes.</summary>
    public AttackPrecision Precision => precision;

    /// <summary>
    /// Puts the model in <see cref="Precision"/> until disposed (null for float32), so that many
    /// <see cref="Attribute"/> calls (SmoothGrad's batches) convert its weights once.
    /// </summary>
    public IDisposable? EnterPrecision() => LowPrecision.Enter([model], precision);

    /// <summary>The gradient [N,C,H,W], float32, of the target score with respect to the images (parameters frozen meanwhile).</summary>
    public Tensor Attribute(Tensor images, AttributionTarget target)
    {
        using var low = EnterPrecision();
        using var frozen = new FrozenParameters([model]);
        using var scope = NewDisposeScope();
        var input = images.detach().requires_grad_(true);
        var score = target.Score(model.call(input));
        return InputGradient.Of(score.sum(), input).MoveToOuterDisposeScope();
    }
}
