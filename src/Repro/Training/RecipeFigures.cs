using Repro.Attacks;
using Repro.Data;
using Repro.Models;

namespace Repro.Training;

/// <summary>
/// The figures recorded for a trained CIFAR model in its weight manifest (<c>data/weights/*.json</c>,
/// "Measured"): clean accuracy and accuracy under untargeted L2 PGD at eps 1.25 (step 0.5, 20
/// steps, no random start), both on the whole cat/airplane test split. Defined once, so that
/// <c>repro train</c> and the retraining claim measure the same thing. Runs on the model's and the
/// images' device (they must be the same).
/// </summary>
internal static class RecipeFigures
{
    public const string CleanKey = "clean_test_accuracy", RobustKey = "eps1.25_test_accuracy", MinutesKey = "eps1.25_minutes";
    public const double Eps = 1.25;
    public static PgdOptions Attack => new() { StepSize = 0.5, Steps = 20 };

    /// <summary>Clean and eps-1.25 accuracy of <paramref name="model"/> on <paramref name="test"/> (fractions), and the attack's minutes.</summary>
    public static Dictionary<string, double> Measure(SmallResNet model, LabelledImages test, TextWriter log)
    {
        var measured = new Dictionary<string, double> { [CleanKey] = ModelEvaluation.Accuracy(model, test.Images, test.Labels) };
        log.WriteLine($"clean test accuracy ({test.Count} images): {measured[CleanKey]:P2}");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (var attack = AttackSummary.Run(model, test.Images, test.Labels, null, new L2Ball(Eps), new AttackRun(0), Attack))
        {
            measured[RobustKey] = attack.Accuracy;
            measured[MinutesKey] = Math.Round(watch.Elapsed.TotalMinutes, 2);
            log.WriteLine($"eps {Eps} accuracy ({test.Count} images, L2 PGD step 0.5, 20 steps): {attack.Accuracy:P2} ({watch.Elapsed.TotalMinutes:F1} min)");
        }
        log.Flush();
        return measured;
    }
}
