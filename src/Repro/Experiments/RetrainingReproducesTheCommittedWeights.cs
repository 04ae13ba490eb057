using System.Diagnostics;
using Repro.Data;
using Repro.Training;

namespace Repro.Experiments;

/// <summary>
/// The committed CIFAR weights are what their recipe makes: both committed recipes
/// (<see cref="TrainingRecipe.Standard"/> and <see cref="TrainingRecipe.Robust"/>, recorded in
/// <c>data/weights/*.json</c>) trained from scratch by this experiment on the context's device,
/// measured as the manifests were (<see cref="RecipeFigures"/>: the whole test split, clean and
/// under eps-1.25 L2 PGD), and compared with the figures recorded in the committed manifests. The
/// retrained pair must also show claim 4's contrast at eps 1.25 with claim 4's own thresholds.
///
/// Full scale only (<see cref="Sizes"/>): on two CPU cores retraining took 14.9 + 23.4 minutes and
/// each whole-split evaluation 4.8 minutes, too long for the quick suite, which checks the training
/// code with <see cref="ShortAdversarialTrainingBuysRobustness"/> instead. At the quick scale it
/// reports NOT RUN with how to run it.
/// </summary>
internal sealed class RetrainingReproducesTheCommittedWeights : IExperiment
{
    public string Id => "training-from-scratch";
    string IExperiment.ArticleSays => ArticleSays;
    public string Title => "Retraining both CIFAR models from scratch reproduces the committed weights' figures";
    public const string ArticleSays =
        "Adversarial training (Madry et al.) makes a model robust at eps 1.25 where standard training does not; the committed models are what their recipes make.";

    /// <summary>Whether to retrain: only at the full scale.</summary>
    public sealed record Sizes(bool Retrain)
    {
        public static Sizes For(Scale scale) => new(scale == Scale.Full);
    }

    // Tolerances against the committed figures (2,000 test images each). Not yet measured across
    // devices (no GPU was lent when this was written; see README: GPU runner): a retrained model's
    // weights differ with the arithmetic (thread count, kernels, GPU vs CPU), and one sampling
    // standard error of an accuracy near 85% on 2,000 images is 0.8 points. The bounds are about
    // three of those for clean accuracy and four for the accuracy under attack (more sensitive
    // to the weights); to be replaced by measured spreads.
    public static readonly Threshold StandardClean = Threshold.AtMost("retrained standard model: |clean accuracy - committed figure| (points)", 0.025, "%");
    public static readonly Threshold StandardUnderAttack = Threshold.AtMost("retrained standard model: |eps-1.25 accuracy - committed figure| (points)", 0.03, "%");
    public static readonly Threshold RobustClean = Threshold.AtMost("retrained robust model: |clean accuracy - committed figure| (points)", 0.025, "%");
    public static readonly Threshold RobustUnderAttack = Threshold.AtMost("retrained robust model: |eps-1.25 accuracy - committed figure| (points)", 0.03, "%");

    public ClaimOutcome Run(ExperimentContext context)
    {
        if (!Sizes.For(context.Scale).Retrain)
        {
            var notRun = ClaimOutcome.NotRun(Id, Title, ArticleSays,
                "retraining both committed recipes from scratch runs at the full scale only (about 40 minutes on two CPU cores; minutes on a GPU). " +
                $"To fix: run the claim tests with {Scales.Variable}=full, or 'repro run' with --scale full (the default with --device cuda)");
            return notRun with { NotRunFix = $"{Scales.Variable}=full dotnet test tests/Claims --filter \"FullyQualifiedName~{nameof(RetrainingReproducesTheCommittedWeights)}\"" };
        }

        var watch = Stopwatch.StartNew();
        using var trainOnCpu = Cifar10.Load(context.Paths.DataRoot, Split.Train, Cifar10.CatVsAirplane);
        using var testOnCpu = Cifar10.Load(context.Paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);
        using var train = context.OnDevice(trainOnCpu);
        using var test = context.OnDevice(testOnCpu);
        var measurements = new List<string>();
        var figures = new Dictionary<string, (Dictionary<string, double> Retrained, Dictionary<string, double> Committed)>();
        foreach (var recipe in new[] { TrainingRecipe.Standard, TrainingRecipe.Robust })
        {
            string manifestPath = Path.ChangeExtension(CifarModels.CommittedPath(recipe), ".json");
            if (!File.Exists(manifestPath))
                return ClaimOutcome.NotRun(Id, Title, ArticleSays, $"the committed manifest {manifestPath} is absent. To fix: restore data/weights/ from the repository");
            var committed = WeightManifest.Read(manifestPath);
            if (committed.RecipeHash != recipe.RecipeHash())
                throw new ReproInputException($"{manifestPath} records recipe hash {committed.RecipeHash[..16]}, but the current {recipe.Name} recipe hashes to {recipe.RecipeHash()[..16]}: recommit the weights (data/weights/README.md)");
            var t = Stopwatch.StartNew();
            using var model = Trainer.Train(recipe, train, null, context.Log);
            double minutes = t.Elapsed.TotalMinutes;
            var retrained = RecipeFigures.Measure(model, test, context.Log);
            figures[recipe.Name] = (retrained, committed.Measured);
            measurements.Add($"{recipe.Name}: retrained in {minutes:F1} min on {Runtime.ComputeDevice.Name(context.Device)}: clean {retrained[RecipeFigures.CleanKey]:P2}, " +
                             $"eps 1.25 {retrained[RecipeFigures.RobustKey]:P2} (committed, trained in {committed.TrainingMinutes:F1} min on {committed.Device ?? "cpu"} with {committed.Threads} thread(s): " +
                             $"clean {committed.Measured[RecipeFigures.CleanKey]:P2}, eps 1.25 {committed.Measured[RecipeFigures.RobustKey]:P2})");
        }

        double Gap(string recipe, string key) => Math.Abs(figures[recipe].Retrained[key] - figures[recipe].Committed[key]);
        double standardRobust = figures["standard"].Retrained[RecipeFigures.RobustKey], robustRobust = figures["robust"].Retrained[RecipeFigures.RobustKey];
        return new ClaimOutcome
        {
            Id = Id, Title = Title, ArticleSays = ArticleSays,
            Checks =
            [
                StandardClean.Measure(Gap("standard", RecipeFigures.CleanKey), "the committed weights are reproducible"),
                StandardUnderAttack.Measure(Gap("standard", RecipeFigures.RobustKey), "the committed weights are reproducible"),
                RobustClean.Measure(Gap("robust", RecipeFigures.CleanKey), "the committed weights are reproducible"),
                RobustUnderAttack.Measure(Gap("robust", RecipeFigures.RobustKey), "the committed weights are reproducible"),
                RobustModelResistsSmallPerturbations.RobustAccuracy.Measure(robustRobust, "the robust model is not fooled"),
                RobustModelResistsSmallPerturbations.StandardAccuracy.Measure(standardRobust, "a standard model is fooled by imperceptible changes"),
                RobustModelResistsSmallPerturbations.AccuracyGap.Measure(robustRobust - standardRobust, "robustness is what separates them"),
            ],
            Measurements = [.. measurements, "attack: untargeted L2 PGD, eps 1.25, step 0.5, 20 steps, on all 2,000 test images (for two classes the same as claim 4's targeted attack)"],
            Elapsed = watch.Elapsed,
        };
    }
}
