using System.Diagnostics;
using Repro.Attacks;
using Repro.Explain;
using Repro.Models;
using Repro.Report;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// Claim 5: maximising one component of the representation (the input of the last linear layer)
/// with L2 PGD (eps 1000, step 5, 20 steps from images, 200 from noise) changes the image in a
/// recognisable, object-like way on the robust model and in barely visible noise on the standard
/// one. Run on CIFAR-10 cat vs airplane with the SmallResNet pair, starting from the first test
/// images of each class (as many as the scale's <see cref="Sizes"/> say) and from uniform noise.
///
/// The component, per model: the one the linear head weighs most toward "airplane"
/// (argmax over k of W[airplane,k] - W[cat,k]), so that a recognisable change has a meaning
/// (wings, sky) rather than an arbitrary index. "Noisy" is <see cref="Noisiness.TotalVariationRatio"/>
/// of the change (result - start, centred at 0), averaged over the images.
/// </summary>
internal sealed class FeatureVisualisationIsPerceptual : IExperiment
{
    public string Id => "claim-5-cifar";
    string IExperiment.ArticleSays => ArticleSays;
    public string Title => "Feature visualisation: robust models change images perceptibly, standard ones in noise (CIFAR-10 cat vs airplane)";
    public const string ArticleSays =
        "Maximising a component of the representation with L2 PGD (eps 1000, step 5, 20 steps; 200 from noise) produces object-like changes on the robust model and barely visible noise on the standard one.";

    /// <summary>Test images per class to start from: quick 4 + 4, full 32 + 32 (64 images). The figure shows the first 4 of each.</summary>
    public sealed record Sizes(int ImagesPerClass)
    {
        public static Sizes For(Scale scale) => new(scale == Scale.Full ? 32 : 4);
    }

    const int ShownPerClass = 4;
    public int StepsFromImages { get; init; } = 20;
    public int StepsFromNoise { get; init; } = 200;
    public int NoiseStarts { get; init; } = 4;

    // Article: the optimisation raises the chosen component (on both models).
    public static readonly Threshold StandardRises = Threshold.AtLeast("standard model: fraction of images whose component rose", 0.95, "%");
    public static readonly Threshold RobustRises = Threshold.AtLeast("robust model: fraction of images whose component rose", 0.95, "%");
    // Article: robust changes are object-like, standard ones noise: the robust change is smoother.
    public static readonly Threshold ChangeNoisiness = Threshold.AtMost("noisiness of the change: robust / standard", 0.9);

    public static PgdOptions Options(int steps) => new() { StepSize = 5, Steps = steps };
    public static L2Ball Ball => new(1000);

    public ClaimOutcome Run(ExperimentContext context)
    {
        var watch = Stopwatch.StartNew();
        int imagesPerClass = Sizes.For(context.Scale).ImagesPerClass;
        var (standard, robust) = CifarClaimSetup.Models(context);
        using var all = CifarClaimSetup.Test(context);
        using var subset = CifarClaimSetup.FirstPerClass(all, imagesPerClass);
        using var scope = NewDisposeScope();
        var measurements = new List<string>();
        var s = Visualise(standard, subset.Images, StepsFromImages, context.Seed);
        var r = Visualise(robust, subset.Images, StepsFromImages, context.Seed);
        double sRose = s.After.gt(s.Before).to_type(ScalarType.Float32).mean().item<float>();
        double rRose = r.After.gt(r.Before).to_type(ScalarType.Float32).mean().item<float>();
        double sNoise = Noisiness.TotalVariationRatio(s.Result - subset.Images).mean().item<float>();
        double rNoise = Noisiness.TotalVariationRatio(r.Result - subset.Images).mean().item<float>();
        measurements.Add($"component: standard {s.Component}, robust {r.Component} (the one the head weighs most toward airplane)");
        measurements.Add($"component before -> after ({StepsFromImages} steps, mean over {subset.Count} images): standard {s.Before.mean().item<float>():F3} -> {s.After.mean().item<float>():F3}, robust {r.Before.mean().item<float>():F3} -> {r.After.mean().item<float>():F3}");
        measurements.Add($"noisiness of the change (TV/L2): standard {sNoise:F2}, robust {rNoise:F2}; PSNR of the result: standard {Psnr(s.Result, subset.Images):F1} dB, robust {Psnr(r.Result, subset.Images):F1} dB");

        // The figure: the first images of each class (all of them at the quick scale).
        var shown = CifarClaimSetup.Shown(2, imagesPerClass, ShownPerClass, context.Device);
        Tensor Pick(Tensor t) => t.index_select(0, shown);
        Visualisation PickOf(Visualisation v) => v with { Result = Pick(v.Result), Before = Pick(v.Before), After = Pick(v.After) };
        var (shownImages, shownS, shownR) = (Pick(subset.Images), PickOf(s), PickOf(r));
        var rows = new List<GridRow>
        {
            CifarClaimSetup.Row("start image", shownImages, OnHost.Floats(Pick(subset.Labels)).Select(l => subset.ClassNames[(int)l]).ToArray()),
            CifarClaimSetup.Row($"standard model: component {s.Component} maximised", shownS.Result, Rise(shownS)),
            CifarClaimSetup.Row("standard model: change (grey = none)", SaliencyImage.Visualise(shownS.Result - shownImages), Blank(shownImages.shape[0])),
            CifarClaimSetup.Row($"robust model: component {r.Component} maximised", shownR.Result, Rise(shownR)),
            CifarClaimSetup.Row("robust model: change (grey = none)", SaliencyImage.Visualise(shownR.Result - shownImages), Blank(shownImages.shape[0])),
        };
        if (StepsFromNoise > 0 && NoiseStarts > 0)
        {
            // Drawn on the CPU from the seed (the same starts on every device), then moved to the device.
            using var noiseGenerator = new Generator((ulong)context.Seed + 7);
            using var noiseOnCpu = rand(new long[] { NoiseStarts, 3, 32, 32 }, generator: noiseGenerator);
            var noise = context.OnDevice(noiseOnCpu);
            var sn = Visualise(standard, noise, StepsFromNoise, context.Seed);
            var rn = Visualise(robust, noise, StepsFromNoise, context.Seed);
            measurements.Add($"from uniform noise ({StepsFromNoise} steps, {NoiseStarts} starts): standard component {sn.Before.mean().item<float>():F3} -> {sn.After.mean().item<float>():F3}, robust {rn.Before.mean().item<float>():F3} -> {rn.After.mean().item<float>():F3}");
            rows.Add(CifarClaimSetup.Row("noise start", noise, Blank(NoiseStarts)));
            rows.Add(CifarClaimSetup.Row($"standard model from noise ({StepsFromNoise} steps)", sn.Result, Rise(sn)));
            rows.Add(CifarClaimSetup.Row($"robust model from noise ({StepsFromNoise} steps)", rn.Result, Rise(rn)));
        }
        string figure = "claim-5-cifar-feature-visualisation.png";
        ImageGrid.Save(context.Figure(figure), rows, "Feature visualisation: L2 PGD, eps 1000, step 5", 96);
        standard.Dispose();
        robust.Dispose();

        return new ClaimOutcome
        {
            Id = Id, Title = Title, ArticleSays = ArticleSays,
            Checks =
            [
                StandardRises.Measure(sRose, "the component is maximised"),
                RobustRises.Measure(rRose, "the component is maximised"),
                ChangeNoisiness.Measure(rNoise / sNoise, "robust: recognisable change; standard: barely visible noise"),
            ],
            Measurements = measurements,
            Figures = [figure],
            Elapsed = watch.Elapsed,
        };
    }

    public sealed record Visualisation(int Component, Tensor Result, Tensor Before, Tensor After);

    /// <summary>The component the head weighs most toward class 1 (airplane) over class 0 (cat).</summary>
    public static int ChosenComponent(SmallResNet model)
    {
        using var _ = no_grad();
        var w = model.Head.weight!;
        return (int)(w[1] - w[0]).argmax().item<long>();
    }

    /// <summary>Maximises the chosen component from <paramref name="start"/> with L2 PGD (eps 1000, step 5, <paramref name="steps"/> steps).</summary>
    public static Visualisation Visualise(SmallResNet model, Tensor start, int steps, long seed)
    {
        model.eval();
        int component = ChosenComponent(model);
        var before = FeatureVisualisation.Component(model, start, component);
        using var result = FeatureVisualisation.Maximise(model, start, component, Ball, new AttackRun(seed), Options(steps));
        var adv = result.Adversarial.detach().clone();
        return new Visualisation(component, adv, before, FeatureVisualisation.Component(model, adv, component));
    }

    static double Psnr(Tensor a, Tensor b) => Attacks.ImageDistance.Psnr(a, b).mean().item<float>();

    static string[] Rise(Visualisation v) =>
        OnHost.Floats(v.Before).Zip(OnHost.Floats(v.After), (b, a) => $"{b:F2} -> {a:F2}").ToArray();

    static string[] Blank(long n) => Enumerable.Repeat("", (int)n).ToArray();
}
