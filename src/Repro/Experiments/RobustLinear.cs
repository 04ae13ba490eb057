using Repro.Attacks;
using System.Diagnostics;
using Repro.Models;
using Repro.Training;

namespace Repro.Experiments;

/// <summary>
/// Claim 6: adversarial training makes a robust linear model. The tutorial's standard linear model on
/// CIFAR-10 cat vs airplane collapses under small L2 attacks; a linear model trained on the worst case
/// inside an L2 ball keeps most of its accuracy even where the standard one is nearly always fooled.
/// Both models (and a control: the robust recipe with eps 0) are attacked with the same L2 PGD at
/// several eps, on the test images each classifies correctly.
/// </summary>
internal sealed partial class RobustLinearExperiment : IExperiment
{
    public string Id => "claim-6-cifar";
    string IExperiment.ArticleSays => ArticleSays;
    public string Title => "Adversarial training makes a linear model that large perturbations do not fool";
    public const string ArticleSays =
        "A linear model trained with adversarial training is robust: \"even under large perturbations the robust model is not fooled\", " +
        "where the standard model's predictions flip.";

    // The standard model: the tutorial's recipe (shared with claim 2).
    public int Iterations { get; init; } = 2000;
    public double LearningRate { get; init; } = 0.1;

    /// <summary>
    /// Training eps: the large attack eps itself, the usual choice (train against the attack you will
    /// face). Measured with seed 0 in a probe (closed-form accuracies, constant-rate Adam): training at eps 1 passes the checks only narrowly (9.1 points lost at
    /// eps 1 against the 10 allowed; success ratio 0.45 against 0.5 at eps 2); eps 2 passes both with a
    /// margin; eps 4 costs 15 points of clean accuracy.
    /// </summary>
    public double TrainEps { get; init; } = 2.0;
    /// <summary>
    /// Full-batch Adam, learning rate decayed linearly to 0 (see <see cref="LinearTraining.Adversarial"/>
    /// for why not the tutorial's SGD). 1,000 steps: at 500 the loss is still falling; with a constant
    /// rate the loss kept wobbling at the third decimal instead of settling.
    /// </summary>
    public int RobustIterations { get; init; } = 1000;
    public double RobustLearningRate { get; init; } = 3e-3;
    /// <summary>Also train the robust recipe with eps 0, so that robustness is not credited to Adam or the schedule.</summary>
    public bool TrainControl { get; init; } = true;

    /// <summary>Attack sizes of the table (step eps/10, <see cref="AttackSteps"/> steps).</summary>
    public IReadOnlyList<double> AttackEps { get; init; } = [0.5, 1, 2, 4];
    /// <summary>The stated large eps: where the standard model must lose at least half its correct predictions.</summary>
    public double LargeEps { get; init; } = 2.0;
    public int AttackSteps { get; init; } = 20;
    /// <summary>PGD on the logit margin: the same steps as on cross-entropy for these models, without float32 saturation (see <see cref="MarginObjective"/>).</summary>
    public AttackLoss Loss { get; init; } = AttackLoss.Margin;
    public int Chunk { get; init; } = 1000;

    /// <summary>
    /// The stated eps must be large: "large enough that the attack flips at least half of the standard
    /// linear model's correct predictions". Calibration (prototype): eps 2 flipped 60%.
    /// </summary>
    public static readonly Threshold StandardSuccessAtLargeEps =
        Threshold.AtLeast("standard model: share of its correct test predictions flipped at the large eps", 0.5, "%");

    /// <summary>
    /// "Even under large perturbations the robust model is not fooled": at the large eps the attack flips
    /// at most half as many, proportionally, of the robust model's correct predictions as of the
    /// standard model's. Calibration (naive recipe prototype): 23% against 60%, a ratio of 0.38.
    /// </summary>
    public static readonly Threshold SuccessRatioAtLargeEps =
        Threshold.AtMost("success rate on the robust model / on the standard model, at the large eps", 0.5);

    /// <summary>
    /// Robust where it matters: at eps 1 the robust model loses at most 10 points from its clean
    /// accuracy. Calibration (naive recipe prototype): 67-69% clean, 59-60% under eps 1, about 8-9 points.
    /// </summary>
    public static readonly Threshold RobustLossAtEps1 =
        Threshold.AtMost("robust model: clean accuracy minus accuracy under the eps-1 attack (points)", 0.10, "%");

    public ClaimOutcome Run(ExperimentContext context)
    {
        var clock = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        var baseline = StandardLinearBaseline.Get(context.Paths.DataRoot, context.Seed, Iterations, LearningRate, out bool reused, context.Device);
        var baselineTime = clock.Elapsed;
        context.Log.WriteLine($"{Id}: standard model {(reused ? "reused" : "trained")} ({baselineTime.TotalSeconds:F1} s)");

        var (train, test) = (baseline.Train, baseline.Test);
        var trainClock = Stopwatch.StartNew();
        var robust = LinearTraining.Adversarial(train.Images, train.Labels, TrainEps, RobustIterations, RobustLearningRate, context.Seed);
        double robustSeconds = trainClock.Elapsed.TotalSeconds;
        context.Log.WriteLine($"{Id}: robust model trained ({robustSeconds:F1} s)");
        trainClock.Restart();
        var control = TrainControl ? LinearTraining.Adversarial(train.Images, train.Labels, 0, RobustIterations, RobustLearningRate, context.Seed) : null;
        double controlSeconds = trainClock.Elapsed.TotalSeconds;

        var models = new List<(string Name, LinearClassifier Model)> { ("standard (tutorial SGD)", baseline.Standard.Model) };
        if (control != null) models.Add(("control (Adam, eps 0)", control.Model));
        models.Add(($"robust (Adam, eps {TrainEps})", robust.Model));
        var reports = models.Select(m => Evaluate(m.Name, m.Model, test, context)).ToList();
        var (standardReport, robustReport) = (reports[0], reports[^1]);

        var figures = new List<string>
        {
            UnderAttackFigure(context, baseline.Standard.Model, robust.Model, test),
            SweepFigure(context, reports),
            WeightsFigure(context, models),
        };
        using (control?.Model) using (robust.Model)
        {
            double standardSuccess = standardReport.At(LargeEps).Success, robustSuccess = robustReport.At(LargeEps).Success;
            return new ClaimOutcome
            {
                Id = Id,
                Title = Title,
                ArticleSays = ArticleSays,
                Checks =
                [
                    StandardSuccessAtLargeEps.Measure(standardSuccess, $"the standard model collapses (eps {LargeEps}); calibration 60%"),
                    SuccessRatioAtLargeEps.Measure(robustSuccess / standardSuccess, $"\"even under large perturbations the robust model is not fooled\" (eps {LargeEps})"),
                    RobustLossAtEps1.Measure(robustReport.Clean - robustReport.At(1).UnderAttack, "robust; calibration about 8-9 points"),
                ],
                Measurements = [.. Measurements(baseline, reused, baselineTime, robust, robustSeconds, control, controlSeconds, reports), CpuTime(clock, cpuAtStart)],
                Notes = Notes(reports),
                Figures = figures,
                Elapsed = clock.Elapsed,
            };
        }
    }

    /// <summary>Wall time depends on what else the machine runs; the process's CPU time much less (it still counts libtorch's spinning threads).</summary>
    static string CpuTime(Stopwatch clock, TimeSpan cpuAtStart) =>
        $"time: {clock.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds:F1} s CPU " +
        $"({Environment.ProcessorCount} cores, libtorch threads {TorchSharp.torch.get_num_threads()})";

    static string Pct(double fraction) => double.IsNaN(fraction) ? "n/a" : $"{fraction * 100:F2}%";
}
