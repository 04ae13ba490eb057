using System.Diagnostics;
using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Training;

namespace Repro.Experiments;

/// <summary>
/// The committed weights take half an hour to retrain on two cores, too long for the suite, so
/// this checks, in about two minutes, that the training code moves a model in the right
/// direction: starting from the committed standard model (non-robust: ~10% accuracy at eps 1.25),
/// one short epoch of adversarial training (the committed robust recipe: L2 PGD eps 1.25, 5 steps,
/// random start) on <see cref="TrainImages"/> training images must make it much more accurate under
/// the article's eps-1.25 attack than the same short epoch of standard training does.
///
/// (Training both from scratch on a short budget does not separate them: measured here, 2 epochs
/// on 2,000 images left the standard model undertrained and smooth — 63% at eps 1.25 against the
/// adversarial run's 64%.)
/// </summary>
internal sealed class ShortAdversarialTrainingBuysRobustness : IExperiment
{
    public string Id => "training-short";
    string IExperiment.ArticleSays => ArticleSays;
    public string Title => "Shortened retraining: adversarial training buys robustness at eps 1.25";
    public const string ArticleSays =
        "A robust model (adversarially trained, Madry et al.) keeps its predictions under eps-1.25 L2 PGD where a standard model does not.";

    public int TrainImages { get; init; } = 4000;
    public int Epochs { get; init; } = 1;
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Test images per class the two fine-tuned models are measured on: quick 100 + 100, full the whole split (1,000 + 1,000).</summary>
    public sealed record Sizes(int TestImagesPerClass)
    {
        public static Sizes For(Scale scale) => new(scale == Scale.Full ? 1000 : 100);
    }

    // Standard fine-tuning keeps the model non-robust (the committed standard model: 9.7% at eps 1.25).
    public static readonly Threshold StandardStaysFragile = Threshold.AtMost("short standard fine-tuning: accuracy at eps 1.25", 0.40, "%");
    // Adversarial fine-tuning keeps the task, at some cost in clean accuracy (the committed robust
    // model: 85.7% clean). Measured here (4,000 images, 1 epoch): 83.5% clean, 67.5% at eps 1.25;
    // standard fine-tuning 94.0% clean, 11.0% at eps 1.25. With 2,000 images: 63.5% clean, 50.0%.
    public static readonly Threshold RobustKeepsTheTask = Threshold.AtLeast("short adversarial fine-tuning: clean accuracy", 0.70, "%");
    // The direction of the committed result (robust 74.7% vs standard 9.7% at eps 1.25 on the whole
    // test split). Measured here: 56.5 points.
    public static readonly Threshold RobustnessGain = Threshold.AtLeast("eps-1.25 accuracy: short adversarial minus short standard fine-tuning (points)", 0.35, "%");

    public ClaimOutcome Run(ExperimentContext context)
    {
        var watch = Stopwatch.StartNew();
        using var start = context.OnDevice(CifarModels.Get(TrainingRecipe.Standard, context.Paths, context.Log, device: context.Device));
        string startSha = CifarModels.WeightsSha256(TrainingRecipe.Standard);
        using var trainOnCpu = Cifar10.Load(context.Paths.DataRoot, Split.Train, Cifar10.CatVsAirplane);
        using var train = context.OnDevice(trainOnCpu);
        using var all = CifarClaimSetup.Test(context);
        using var test = CifarClaimSetup.FirstPerClass(all, Sizes.For(context.Scale).TestImagesPerClass);
        var measurements = new List<string>();
        (double Clean, double Robust) Measure(TrainingRecipe recipe)
        {
            var t = Stopwatch.StartNew();
            using var model = Trainer.Train(recipe, train, null, context.Log, start);
            double trainMinutes = t.Elapsed.TotalMinutes;
            double clean = ModelEvaluation.Accuracy(model, test.Images, test.Labels);
            using var attack = AttackSummary.Run(model, test.Images, test.Labels, null, new L2Ball(1.25),
                new AttackRun(context.Seed), RobustModelResistsSmallPerturbations.SmallAttack);
            measurements.Add($"{recipe.Describe()}: clean {clean:P1}, eps 1.25 {attack.Accuracy:P1} on {test.Count} test images (training {trainMinutes:F1} min)");
            return (clean, attack.Accuracy);
        }
        var standard = Measure(TrainingRecipe.Standard with { Name = "standard-finetune", TrainSubset = TrainImages, Epochs = Epochs, LearningRate = LearningRate, StartWeightsSha256 = startSha });
        var robust = Measure(TrainingRecipe.Robust with { Name = "robust-finetune", TrainSubset = TrainImages, Epochs = Epochs, LearningRate = LearningRate, StartWeightsSha256 = startSha });
        return new ClaimOutcome
        {
            Id = Id, Title = Title, ArticleSays = ArticleSays,
            Checks =
            [
                StandardStaysFragile.Measure(standard.Robust, "a standard model is fooled at eps 1.25"),
                RobustKeepsTheTask.Measure(robust.Clean, "adversarial training keeps the task, at some cost in clean accuracy"),
                RobustnessGain.Measure(robust.Robust - standard.Robust, "adversarial training is what makes a model robust"),
            ],
            Measurements = measurements,
            Elapsed = watch.Elapsed,
        };
    }
}
