using Repro.Models;

namespace Repro.Experiments;

/// <summary>The article's experiments by the names the <c>repro run</c> command takes, in report order.</summary>
internal static class ExperimentCatalog
{
    public static readonly IReadOnlyList<(string Name, string Description, Func<IReadOnlyList<IExperiment>> Create)> All =
    [
        ("attack", "claim 1: targeted L2 PGD turns every ImageNet image into a goldfish (every ImageNet model in the registry)",
            () => ModelRegistry.Names.Select(n => (IExperiment)new TargetedAttackMakesEveryImageAGoldfish(n)).ToList()),
        ("nonrobust", "claim 2: a model trained on an adversarially relabelled set generalises to the true test labels (CIFAR-10 cat vs airplane)",
            () => [new NonRobustFeaturesExperiment()]),
        ("robust-linear", "claim 6: adversarial training makes a robust linear model (CIFAR-10 cat vs airplane)",
            () => [new RobustLinearExperiment()]),
        ("saliency", "claim 3: plain gradients vs SmoothGrad — standard ImageNet models, the CIFAR pair, MadryLab's robust ResNet50",
            () => [.. ModelRegistry.Names.Select(n => (IExperiment)new SmoothGradIsClearerOnImageNet(n)),
                   new GradientsOfRobustModelsLookLikeTheObject(), new RobustResNet50GradientsLookLikeTheObject()]),
        ("robust", "claim 4: a robust model resists eps 1.25 and falls only to eps 100 — the CIFAR pair, MadryLab's robust ResNet50",
            () => [new RobustModelResistsSmallPerturbations(), new RobustResNet50ResistsSmallPerturbations()]),
        ("featviz", "claim 5: feature visualisation — standard ImageNet models, the CIFAR pair, MadryLab's robust ResNet50",
            () => [.. ModelRegistry.Names.Select(n => (IExperiment)new FeatureVisualisationOnImageNet(n)),
                   new FeatureVisualisationIsPerceptual(), new RobustResNet50FeatureVisualisation()]),
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    public static IReadOnlyList<IExperiment> Create(string name)
    {
        if (name == "all") return All.SelectMany(e => e.Create()).ToList();
        var match = All.Where(e => e.Name == name).ToList();
        if (match.Count == 0) throw new ReproInputException($"unknown experiment '{name}' (known: all, {string.Join(", ", Names)})");
        return match[0].Create();
    }
}
