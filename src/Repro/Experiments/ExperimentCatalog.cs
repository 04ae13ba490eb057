using Repro.Models;

namespace Repro.Experiments;

/// <summary>
/// The article's experiments by the names the <c>repro run</c> command takes, in the article's
/// order (claims 1 to 6). Every claim's name, experiment ids, figures, claims.json entries and report
/// anchors start with <c>claim-N-</c>. Two experiments stand outside the catalogue on purpose: the
/// shortened adversarial training (<see cref="ShortAdversarialTrainingBuysRobustness"/>, id
/// <c>training-short</c>) and retraining the committed weights from scratch
/// (<see cref="RetrainingReproducesTheCommittedWeights"/>, <c>training-from-scratch</c>) check the
/// committed CIFAR weights' recipe, not a sentence of the article; their tests run them by name.
/// </summary>
internal static class ExperimentCatalog
{
    public static readonly IReadOnlyList<(string Name, string Description, Func<IReadOnlyList<IExperiment>> Create)> All =
    [
        ("claim-1-goldfish", "claim 1: targeted L2 PGD turns every ImageNet image into a goldfish (every ImageNet model in the registry)",
            () => ModelRegistry.Names.Select(n => (IExperiment)new TargetedAttackMakesEveryImageAGoldfish(n)).ToList()),
        ("claim-2-non-robust-features", "claim 2: a model trained on an adversarially relabelled set generalises to the true test labels (CIFAR-10 cat vs airplane)",
            () => [new NonRobustFeaturesExperiment()]),
        ("claim-3-saliency", "claim 3: plain gradients vs SmoothGrad — standard ImageNet models, the CIFAR pair, MadryLab's robust ResNet50",
            () => [.. ModelRegistry.Names.Select(n => (IExperiment)new SmoothGradIsClearerOnImageNet(n)),
                   new GradientsOfRobustModelsLookLikeTheObject(), new RobustResNet50GradientsLookLikeTheObject()]),
        ("claim-4-robust-model", "claim 4: a robust model resists eps 1.25 and falls only to eps 100 — the CIFAR pair, MadryLab's robust ResNet50",
            () => [new RobustModelResistsSmallPerturbations(), new RobustResNet50ResistsSmallPerturbations()]),
        ("claim-5-feature-visualisation", "claim 5: feature visualisation — standard ImageNet models, the CIFAR pair, MadryLab's robust ResNet50",
            () => [.. ModelRegistry.Names.Select(n => (IExperiment)new FeatureVisualisationOnImageNet(n)),
                   new FeatureVisualisationIsPerceptual(), new RobustResNet50FeatureVisualisation()]),
        ("claim-6-robust-linear", "claim 6: adversarial training makes a robust linear model (CIFAR-10 cat vs airplane)",
            () => [new RobustLinearExperiment()]),
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>The experiments of <paramref name="name"/>: <c>all</c>, a catalogue name, or its short form <c>claim-N</c> (case-insensitive).</summary>
    public static IReadOnlyList<IExperiment> Create(string name)
    {
        if (string.Equals(name, "all", StringComparison.OrdinalIgnoreCase)) return All.SelectMany(e => e.Create()).ToList();
        var match = All.Where(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase)
            || e.Name.StartsWith(name + "-", StringComparison.OrdinalIgnoreCase) && name.Count(c => c == '-') == 1).ToList();
        if (match.Count != 1) throw new ReproInputException($"unknown experiment '{name}' (known: all, {string.Join(", ", Names)}; or claim-1 .. claim-6)");
        return match[0].Create();
    }
}
