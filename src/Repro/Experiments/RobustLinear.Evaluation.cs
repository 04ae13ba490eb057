using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Experiments;

internal sealed partial class RobustLinearExperiment
{
    /// <summary>One model under one attack size, on the test set.</summary>
    sealed record AttackRow(double Eps, double UnderAttack, double Success, double ExactUnderAttack, double PgdShareOfExactDrop);

    /// <summary>A model's clean test accuracy and its rows, one per attack eps.</summary>
    sealed record ModelReport(string Name, double Clean, long Correct, double MarginSlope, IReadOnlyList<AttackRow> Rows, double Seconds)
    {
        public AttackRow At(double eps) => Rows.FirstOrDefault(r => r.Eps == eps)
            ?? throw new ReproInputException($"eps {eps} is not among the attacked sizes ({string.Join(", ", Rows.Select(r => r.Eps))})");
    }

    /// <summary>
    /// Attacks the test images <paramref name="model"/> classifies correctly, at every eps. Only those
    /// can be flipped; an untargeted attack on the others only pushes them further from their label
    /// (for a linear model, moving along the gradient lowers the true margin), so accuracy under attack
    /// is (correct - flipped) / all. Beside PGD, the exact worst case of a linear model: an image is lost
    /// when its margin is below eps·||w_0 - w_1|| (box ignored, so an upper bound on the attack), and how
    /// much of that margin drop PGD achieved (below 1 only where the [0,1] box stopped it).
    /// </summary>
    ModelReport Evaluate(string name, LinearClassifier model, LabelledImages test, ExperimentContext context)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var correct = LinearTraining.Predict(model, test.Images).eq(test.Labels).nonzero().squeeze(1);
        var images = test.Images.index_select(0, correct);
        var labels = test.Labels.index_select(0, correct);
        long n = test.Count, k = correct.shape[0];
        double slope = TwoClassLinear.WorstCaseMarginDrop(model, 1);
        var allMargins = Margins(model, test.Images, test.Labels);
        var margins = allMargins.index_select(0, correct);

        var rows = new List<AttackRow>();
        foreach (double eps in AttackEps.Append(LargeEps).Append(1.0).Distinct().Order())
        {
            using var step = NewDisposeScope();
            using var attacked = AttackedSet.Attack(model, images, labels, new L2Ball(eps),
                new AttackRun(context.Seed), new PgdOptions { StepSize = eps / 10, Steps = AttackSteps }, Loss, Chunk);
            long flipped = attacked.AdversarialPrediction.ne(labels).sum().item<long>();
            double exact = allMargins.gt(eps * slope).to_type(ScalarType.Float64).mean().item<double>();
            double drop = (margins - Margins(model, attacked.Adversarial, labels)).mean().item<float>();
            rows.Add(new AttackRow(eps, (double)(k - flipped) / n, (double)flipped / k, exact, drop / (eps * slope)));
        }
        var report = new ModelReport(name, (double)k / n, k, slope, rows, clock.Elapsed.TotalSeconds);
        context.Log.WriteLine($"{Id}: {name}: clean {Pct(report.Clean)}, " +
            string.Join(", ", rows.Select(r => $"eps {r.Eps}: {Pct(r.UnderAttack)}")) + $" ({report.Seconds:F1} s)");
        return report;
    }

    /// <summary>Per-example margin z_y - z_other: positive where the model is right.</summary>
    static Tensor Margins(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels)
    {
        using var _ = no_grad();
        var logits = model.forward(images);
        return TwoClassLinear.LabelSign(labels) * (logits[.., 0] - logits[.., 1]);
    }

    List<string> Measurements(StandardLinearBaseline baseline, bool reused, TimeSpan baselineTime, TrainedLinear robust, double robustSeconds,
        TrainedLinear? control, double controlSeconds, IReadOnlyList<ModelReport> reports)
    {
        var lines = new List<string>
        {
            $"standard model: the tutorial's recipe (full-batch SGD, lr {LearningRate}, {Iterations} iterations); " +
            (reused ? "reused from an earlier claim of this run" : $"data loading and training {baselineTime.TotalSeconds:F1} s"),
            $"robust model: full-batch Adam, lr {RobustLearningRate} decayed linearly to 0, {RobustIterations} steps, on the exact worst case in the " +
            $"L2 ball of radius {TrainEps} (margin lowered by eps·||w_0 - w_1||); loss {robust.Losses[0]:F4} → {robust.Losses[^1]:F4}; {robustSeconds:F1} s",
        };
        if (control != null)
            lines.Add($"control: the same recipe with eps 0 (plain cross-entropy); loss {control.Losses[0]:F4} → {control.Losses[^1]:F4}; {controlSeconds:F1} s");
        lines.Add($"L2 PGD on the {Loss} loss, step eps/10, {AttackSteps} steps, on the test images each model classifies correctly ({baseline.Test.Count} test images); " +
            "success = share of those flipped; 'exact' = accuracy under the exact worst case (box ignored); 'PGD/exact' = mean margin drop PGD achieved over eps·||w_0 - w_1||:");
        lines.Add("  model                      | ||w0-w1|| |   eps | accuracy | success | exact acc | PGD/exact");
        foreach (var r in reports)
        {
            lines.Add($"  {r.Name,-26} | {r.MarginSlope,9:G3} |     0 | {Pct(r.Clean),8} |         |           |");
            lines.AddRange(r.Rows.Select(row =>
                $"  {r.Name,-26} | {r.MarginSlope,9:G3} | {row.Eps,5:G3} | {Pct(row.UnderAttack),8} | {Pct(row.Success),7} | {Pct(row.ExactUnderAttack),9} | {row.PgdShareOfExactDrop,9:F4}"));
        }
        lines.Add("attack time per model: " + string.Join(", ", reports.Select(r => $"{r.Name} {r.Seconds:F1} s")));
        return lines;
    }

    List<string> Notes(IReadOnlyList<ModelReport> reports)
    {
        var (standard, robust) = (reports[0], reports[^1]);
        var control = reports.Count > 2 ? reports[1] : null;
        var notes = new List<string>
        {
            $"Adversarial training used the exact worst case instead of PGD for its inner maximisation: for a two-class linear model the worst point " +
            "of an L2 ball lowers the margin by exactly eps·||w_0 - w_1|| (Cauchy-Schwarz), so each training step is as cheap as a standard one and " +
            "the outer problem is convex. The robust model was then judged with real L2 PGD, like the standard one; PGD reached " +
            $"{robust.At(LargeEps).PgdShareOfExactDrop * 100:F1}% of the exact margin drop at eps {LargeEps} (the rest is the [0,1] box).",
            $"At eps {LargeEps} the attack flips {Pct(standard.At(LargeEps).Success)} of the standard model's correct predictions and " +
            $"{Pct(robust.At(LargeEps).Success)} of the robust model's; at eps {AttackEps.Max()}, {Pct(standard.At(AttackEps.Max()).Success)} against " +
            $"{Pct(robust.At(AttackEps.Max()).Success)}. The robust model is fooled far less, but not never: at eps {AttackEps.Max()} it is right on " +
            $"{Pct(robust.At(AttackEps.Max()).UnderAttack)} of the test images.",
        };
        if (robust.Clean > standard.Clean)
            notes.Add($"The robust model's clean accuracy ({Pct(robust.Clean)}) is above the tutorial's standard model's ({Pct(standard.Clean)}): that model is " +
                "badly optimised (its learning rate is past the stability limit; see claim 2), not a fair clean baseline." +
                (control is null ? "" : $" Against the control trained like the robust model with eps 0 ({Pct(control.Clean)} clean, " +
                    $"{Pct(control.At(LargeEps).UnderAttack)} under eps {LargeEps}), robustness costs {100 * (control.Clean - robust.Clean):F1} points of clean accuracy, as the article expects."));
        return notes;
    }
}
