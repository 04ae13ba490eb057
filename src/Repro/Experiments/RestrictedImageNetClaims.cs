using System.Diagnostics;
using Repro.Attacks;
using Repro.Data;
using Repro.Data.Assets;
using Repro.Explain;
using Repro.Models;
using Repro.Report;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// Restricted ImageNet (Tsipras et al. 2019; the robustness library's RestrictedImageNet): 9
/// superclasses, each a range of ImageNet class indices. Samples here are the first
/// <c>perClass</c> validation images (path order) of each superclass present.
/// </summary>
internal static class RestrictedImageNet
{
    public static readonly IReadOnlyList<string> Names = ["dog", "cat", "frog", "turtle", "bird", "primate", "fish", "crab", "insect"];
    public static readonly IReadOnlyList<(int First, int Last)> Ranges =
        [(151, 268), (281, 285), (30, 32), (33, 37), (80, 100), (365, 382), (389, 397), (118, 121), (300, 319)];

    public static int SuperclassOf(int imageNetLabel)
    {
        for (int i = 0; i < Ranges.Count; i++) if (imageNetLabel >= Ranges[i].First && imageNetLabel <= Ranges[i].Last) return i;
        return -1;
    }

    /// <summary>Images [N,3,224,224], superclass labels, and the original ImageNet labels.</summary>
    public static (LabelledImages Images, Tensor ImageNetLabels) Load(ReproPaths paths, int perClass)
    {
        var val = ImageNetValidation.Open(paths.DataRoot);
        var chosen = val.Samples.Where(s => SuperclassOf(s.Label) >= 0).GroupBy(s => SuperclassOf(s.Label)).OrderBy(g => g.Key)
            .SelectMany(g => g.Take(perClass)).ToList();
        if (chosen.Count == 0) throw new ReproInputException($"no ImageNet validation images of the Restricted ImageNet classes under {paths.DataRoot}");
        using var loaded = ImageNetValidation.Load(chosen, Names);
        var superclass = tensor(chosen.Select(s => (long)SuperclassOf(s.Label)).ToArray());
        return (new LabelledImages(loaded.Images.clone(), superclass, Names), loaded.Labels.clone());
    }

    /// <summary>
    /// The robust checkpoint (a re-exported file under the model root, else the tutorial bundle's
    /// <c>RestrictedImageNet.pt</c>) and, when <paramref name="standard"/>, torchvision's ResNet50; the
    /// validation images must be there too. What is absent is fetched where fetching is on.
    /// </summary>
    /// <exception cref="MissingInputsException">Any of them is absent (all named, one fix).</exception>
    public static (string Robust, string? Standard) RequireInputs(ReproPaths paths, bool standard)
    {
        var needed = new List<Asset>();
        if (MadryResNet50.Find(paths) == null) needed.Add(AssetCatalogue.Tutorial);
        if (standard && AssetCatalogue.ResNet50.Find(paths.ModelRoot) == null) needed.Add(AssetCatalogue.ResNet50);
        if (!ImageNetValidation.IsPresent(paths.DataRoot)) needed.Add(AssetCatalogue.ImageNetValidation);
        AssetStore.Require(paths, needed);
        string robust = MadryResNet50.Find(paths) ?? AssetCatalogue.Tutorial.Find(paths.ModelRoot)!;
        return (robust, standard ? AssetCatalogue.ResNet50.Find(paths.ModelRoot) : null);
    }
}

/// <summary>Claim 4 on the article's own robust model (MadryLab ResNet50, Restricted ImageNet), with the article's exact attack parameters.</summary>
internal sealed class RobustResNet50ResistsSmallPerturbations : IExperiment
{
    public string Id => "claim-4-restricted-imagenet";
    string IExperiment.ArticleSays => RobustModelResistsSmallPerturbations.ArticleSays;
    public string Title => "MadryLab's robust ResNet50 resists eps-1.25 attacks and yields to eps 100 (Restricted ImageNet)";

    /// <summary>Validation images per superclass: quick 2, full 16 (all there are where fewer).</summary>
    public sealed record Sizes(int ImagesPerClass)
    {
        public static Sizes For(Scale scale) => new(scale == Scale.Full ? 16 : 2);
    }

    public ClaimOutcome Run(ExperimentContext context)
    {
        var (path, _) = RestrictedImageNet.RequireInputs(context.Paths, standard: false);
        var watch = Stopwatch.StartNew();
        int imagesPerClass = Sizes.For(context.Scale).ImagesPerClass;
        using var model = context.OnDevice(MadryResNet50.Load(path));
        var (onCpu, imageNetLabels) = RestrictedImageNet.Load(context.Paths, imagesPerClass);
        imageNetLabels.Dispose();
        using (onCpu)
        using (var data = context.OnDevice(onCpu))
        {
            using var targets = data.Labels.add(1).remainder(RestrictedImageNet.Names.Count);
            using var small = AttackSummary.Run(model, data.Images, data.Labels, targets, new L2Ball(1.25), new AttackRun(context.Seed), RobustModelResistsSmallPerturbations.SmallAttack, 8);
            using var large = AttackSummary.Run(model, data.Images, data.Labels, targets, new L2Ball(100), new AttackRun(context.Seed), RobustModelResistsSmallPerturbations.LargeAttack, 8);
            string figure = "claim-4-restricted-imagenet.png";
            int show = (int)Math.Min(6, data.Count);
            ImageGrid.Save(context.Figure(figure),
            [
                CifarClaimSetup.Row("original", data.Images[..show], CifarClaimSetup.Captions(model, data.Images[..show], data.ClassNames)),
                CifarClaimSetup.Row("eps 1.25, toward the next class", small.Adversarial[..show], CifarClaimSetup.Captions(model, small.Adversarial[..show], data.ClassNames)),
                CifarClaimSetup.Row("eps 100, toward the next class", large.Adversarial[..show], CifarClaimSetup.Captions(model, large.Adversarial[..show], data.ClassNames)),
            ]);
            return new ClaimOutcome
            {
                Id = Id, Title = Title, ArticleSays = RobustModelResistsSmallPerturbations.ArticleSays,
                Checks =
                [
                    RobustModelResistsSmallPerturbations.RobustAccuracy.Measure(small.Accuracy, "the robust model is not fooled"),
                    RobustModelResistsSmallPerturbations.LargeEpsSuccess.Measure(large.SuccessRate, "eps 100 fools it"),
                    RobustModelResistsSmallPerturbations.LargeEpsPsnr.Measure(large.MeanPsnr, "the changes are visible"),
                ],
                Measurements = [$"{data.Count} images (up to {imagesPerClass} per superclass, {Scales.Name(context.Scale)} scale); eps 1.25 success {small.SuccessRate:P1}, PSNR {small.MeanPsnr:F1} dB; eps 100 PSNR {large.MeanPsnr:F1} dB"],
                Notes = ["no standard Restricted ImageNet model is available, so the standard-model half of this claim runs on CIFAR-10 only"],
                Figures = [figure],
                Elapsed = watch.Elapsed,
            };
        }
    }
}

/// <summary>Claim 3 on MadryLab's robust ResNet50 against torchvision's standard ResNet50, with the article's SmoothGrad (100 samples, sigma 0.3).</summary>
internal sealed class RobustResNet50GradientsLookLikeTheObject : IExperiment
{
    public string Id => "claim-3-restricted-imagenet";
    string IExperiment.ArticleSays => GradientsOfRobustModelsLookLikeTheObject.ArticleSays;
    public string Title => "Gradients of MadryLab's robust ResNet50 look like the object (Restricted ImageNet images)";

    /// <summary>Validation images per superclass and images used: quick 1 and 4, full 8 and 64. The figure shows the first 4.</summary>
    public sealed record Sizes(int PerSuperclass, int Images)
    {
        public static Sizes For(Scale scale) => scale == Scale.Full ? new(8, 64) : new(1, 4);
    }

    public ClaimOutcome Run(ExperimentContext context)
    {
        var (path, standardPath) = RestrictedImageNet.RequireInputs(context.Paths, standard: true);
        var watch = Stopwatch.StartNew();
        var size = Sizes.For(context.Scale);
        using var robust = context.OnDevice(MadryResNet50.Load(path));
        using var standard = context.OnDevice(MadryResNet50.TorchVisionImageNet(standardPath!));
        var (onCpu, imageNetLabelsOnCpu) = RestrictedImageNet.Load(context.Paths, size.PerSuperclass);
        using (onCpu)
        using (imageNetLabelsOnCpu)
        using (var data = context.OnDevice(onCpu))
        using (var imageNetLabels = context.OnDevice(imageNetLabelsOnCpu))
        using (var scope = NewDisposeScope())
        {
            int count = (int)Math.Min(size.Images, data.Count), shown = Math.Min(4, count);
            var images = data.Images[..count];
            var s = GradientsOfRobustModelsLookLikeTheObject.Maps(standard, images, imageNetLabels[..count], 100, 0.3, context.Seed);
            var r = GradientsOfRobustModelsLookLikeTheObject.Maps(robust, images, data.Labels[..count], 100, 0.3, context.Seed);
            double Mean(Tensor t) => Noisiness.TotalVariationRatio(t, 0.5).mean().item<float>();
            double sv = Mean(s.Vanilla), ss = Mean(s.Smooth), rv = Mean(r.Vanilla);
            string figure = "claim-3-restricted-imagenet.png";
            ImageGrid.Save(context.Figure(figure),
            [
                CifarClaimSetup.Row("image", images[..shown], Enumerable.Repeat("", shown).ToArray()),
                CifarClaimSetup.Row("standard ResNet50: vanilla", s.Vanilla[..shown], Enumerable.Repeat("", shown).ToArray()),
                CifarClaimSetup.Row("standard ResNet50: SmoothGrad", s.Smooth[..shown], Enumerable.Repeat("", shown).ToArray()),
                CifarClaimSetup.Row("robust ResNet50: vanilla", r.Vanilla[..shown], Enumerable.Repeat("", shown).ToArray()),
            ]);
            return new ClaimOutcome
            {
                Id = Id, Title = Title, ArticleSays = GradientsOfRobustModelsLookLikeTheObject.ArticleSays,
                Checks =
                [
                    GradientsOfRobustModelsLookLikeTheObject.SmoothGradVsVanilla.Measure(ss / sv, "SmoothGrad is clearer"),
                    GradientsOfRobustModelsLookLikeTheObject.RobustVsStandard.Measure(rv / sv, "the robust gradient looks like the object"),
                ],
                Measurements = [$"{count} images ({Scales.Name(context.Scale)} scale); noisiness: standard vanilla {sv:F2}, standard SmoothGrad {ss:F2}, robust vanilla {rv:F2}; robust vanilla / standard SmoothGrad {rv / ss:F3}"],
                Notes = Scales.Shortfall(context.Scale, size.Images, count, "Restricted ImageNet validation images") is string shortfall ? [shortfall] : [],
                Figures = [figure],
                Elapsed = watch.Elapsed,
            };
        }
    }
}

/// <summary>Claim 5 on MadryLab's robust ResNet50 against torchvision's standard ResNet50 (eps 1000, step 5, 20 steps).</summary>
internal sealed class RobustResNet50FeatureVisualisation : IExperiment
{
    public string Id => "claim-5-restricted-imagenet";
    string IExperiment.ArticleSays => FeatureVisualisationIsPerceptual.ArticleSays;
    public string Title => "Feature visualisation on MadryLab's robust ResNet50 is perceptual (Restricted ImageNet images)";

    /// <summary>Validation images per superclass and images used: quick 1 and 4, full 8 and 64. The figure shows the first 4.</summary>
    public sealed record Sizes(int PerSuperclass, int Images)
    {
        public static Sizes For(Scale scale) => scale == Scale.Full ? new(8, 64) : new(1, 4);
    }
    /// <summary>The representation component maximised on both models (the article picks components by hand).</summary>
    public int Component { get; init; }

    public ClaimOutcome Run(ExperimentContext context)
    {
        var (path, standardPath) = RestrictedImageNet.RequireInputs(context.Paths, standard: true);
        var watch = Stopwatch.StartNew();
        var size = Sizes.For(context.Scale);
        using var robust = context.OnDevice(MadryResNet50.Load(path));
        using var standard = context.OnDevice(MadryResNet50.TorchVisionImageNet(standardPath!));
        var (onCpu, imageNetLabels) = RestrictedImageNet.Load(context.Paths, size.PerSuperclass);
        imageNetLabels.Dispose();
        using (onCpu)
        using (var data = context.OnDevice(onCpu))
        using (var scope = NewDisposeScope())
        {
            int count = (int)Math.Min(size.Images, data.Count), shown = Math.Min(4, count);
            var images = data.Images[..count];
            (double Rose, double Noise, Tensor Result) Run(MadryResNet50 model)
            {
                var before = FeatureVisualisation.Component(model, images, Component);
                using var result = FeatureVisualisation.Maximise(model, images, Component, FeatureVisualisationIsPerceptual.Ball, new AttackRun(context.Seed), FeatureVisualisationIsPerceptual.Options(20));
                var after = FeatureVisualisation.Component(model, result.Adversarial, Component);
                return (after.gt(before).to_type(ScalarType.Float32).mean().item<float>(),
                        Noisiness.TotalVariationRatio(result.Adversarial - images).mean().item<float>(), result.Adversarial.clone());
            }
            var s = Run(standard);
            var r = Run(robust);
            string figure = "claim-5-restricted-imagenet.png";
            ImageGrid.Save(context.Figure(figure),
            [
                CifarClaimSetup.Row("image", images[..shown], Enumerable.Repeat("", shown).ToArray()),
                CifarClaimSetup.Row($"standard ResNet50, component {Component}", s.Result[..shown], Enumerable.Repeat("", shown).ToArray()),
                CifarClaimSetup.Row($"robust ResNet50, component {Component}", r.Result[..shown], Enumerable.Repeat("", shown).ToArray()),
            ]);
            return new ClaimOutcome
            {
                Id = Id, Title = Title, ArticleSays = FeatureVisualisationIsPerceptual.ArticleSays,
                Checks =
                [
                    FeatureVisualisationIsPerceptual.StandardRises.Measure(s.Rose, "the component is maximised"),
                    FeatureVisualisationIsPerceptual.RobustRises.Measure(r.Rose, "the component is maximised"),
                    FeatureVisualisationIsPerceptual.ChangeNoisiness.Measure(r.Noise / s.Noise, "robust: object-like; standard: noise"),
                ],
                Measurements = [$"{count} images ({Scales.Name(context.Scale)} scale); noisiness of the change: standard {s.Noise:F2}, robust {r.Noise:F2}"],
                Notes = Scales.Shortfall(context.Scale, size.Images, count, "Restricted ImageNet validation images") is string shortfall ? [shortfall] : [],
                Figures = [figure],
                Elapsed = watch.Elapsed,
            };
        }
    }
}
