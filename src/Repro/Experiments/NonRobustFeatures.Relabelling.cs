using System.Diagnostics;
using Repro.Attacks;
using Repro.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Experiments;

internal sealed partial class NonRobustFeaturesExperiment
{
    /// <summary>What one attack size does to the training set, and what a fresh model learns from the result.</summary>
    sealed class SweepPoint
    {
        public required double Eps { get; init; }
        public required double Step { get; init; }
        /// <summary>Training images the standard model classifies correctly: the ones the attack can fool.</summary>
        public required long Correct { get; init; }
        public required long Fooled { get; init; }
        /// <summary>How many the exact worst case would fool (margin below eps·||w_0 - w_1||; the [0,1] box ignored, so an upper bound).</summary>
        public required long ExactWorstCase { get; init; }
        public required long CatsMadeAirplanes { get; init; }
        public required double MeanL2 { get; init; }
        public required double MaxL2 { get; init; }
        /// <summary>The relabelled model's accuracy on the labels it was trained on (the wrong ones).</summary>
        public required double RelabelledTrainAccuracy { get; init; }
        public required double TrueTestAccuracy { get; init; }
        public required double AttackSeconds { get; init; }
        public required double Seconds { get; init; }
        /// <summary>Kept for the figures of the headline attack, then released: originals, adversarial images, new labels, test predictions.</summary>
        public Tensor? Originals, Adversarial, NewLabels, TestPredictions;

        public void ReleaseImages()
        {
            foreach (var t in new[] { Originals, Adversarial, NewLabels, TestPredictions }) t?.Dispose();
            Originals = Adversarial = NewLabels = TestPredictions = null;
        }
    }

    /// <summary>
    /// Attacks the correctly classified training images at <paramref name="eps"/>, keeps those whose
    /// prediction flipped with the new (wrong) prediction as their label, trains a fresh linear model
    /// on them alone with the article's recipe, and tests it on the true test labels. The fresh model
    /// is drawn from seed + 1 so that it does not start where the standard model started.
    /// </summary>
    SweepPoint Relabel(StandardLinearBaseline baseline, double eps, double step, long seed)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var (train, test, model) = (baseline.Train, baseline.Test, baseline.Standard.Model);
        var correct = LinearTraining.Predict(model, train.Images).eq(train.Labels).nonzero().squeeze(1);
        var images = train.Images.index_select(0, correct);
        var labels = train.Labels.index_select(0, correct);
        using var attacked = AttackedSet.Attack(model, images, labels, new L2Ball(eps),
            new AttackRun(seed), new PgdOptions { StepSize = step, Steps = AttackSteps }, Loss, Chunk);
        double attackSeconds = clock.Elapsed.TotalSeconds;
        long exact = Margins(model, images, labels).lt(TwoClassLinear.WorstCaseMarginDrop(model, eps)).sum().item<long>();

        var fooled = attacked.AdversarialPrediction.ne(labels).nonzero().squeeze(1);
        long count = fooled.shape[0];
        var relabelled = attacked.Adversarial.index_select(0, fooled);
        var newLabels = attacked.AdversarialPrediction.index_select(0, fooled);
        var l2 = attacked.L2.index_select(0, fooled);

        double trainAccuracy = double.NaN, testAccuracy = double.NaN;
        Tensor? testPredictions = null;
        if (count > 0)
        {
            var fresh = LinearTraining.Standard(relabelled, newLabels, RelabelledIterations, RelabelledLearningRate, seed + 1).Model;
            using (fresh)
            {
                trainAccuracy = LinearTraining.Accuracy(fresh, relabelled, newLabels);
                testPredictions = LinearTraining.Predict(fresh, test.Images);
                testAccuracy = testPredictions.eq(test.Labels).to_type(ScalarType.Float64).mean().item<double>();
            }
        }
        var point = new SweepPoint
        {
            Eps = eps, Step = step, Correct = correct.shape[0], Fooled = count, ExactWorstCase = exact, AttackSeconds = attackSeconds,
            CatsMadeAirplanes = count == 0 ? 0 : newLabels.eq(1).sum().item<long>(),
            MeanL2 = count == 0 ? double.NaN : l2.mean().item<float>(),
            MaxL2 = count == 0 ? double.NaN : l2.max().item<float>(),
            RelabelledTrainAccuracy = trainAccuracy, TrueTestAccuracy = testAccuracy,
            Seconds = clock.Elapsed.TotalSeconds,
            Originals = images.index_select(0, fooled), Adversarial = relabelled, NewLabels = newLabels, TestPredictions = testPredictions,
        };
        foreach (var t in new[] { point.Originals, point.Adversarial, point.NewLabels, point.TestPredictions })
            if (t is not null) scope.MoveToOuter(t);
        return point;
    }

    /// <summary>Per-example margin z_y - z_other of a two-class model: positive where it is right.</summary>
    static Tensor Margins(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels)
    {
        using var _ = no_grad();
        var logits = model.forward(images);
        return TwoClassLinear.LabelSign(labels) * (logits[.., 0] - logits[.., 1]);
    }

    /// <summary>
    /// Correctly classified training images on which float32 cross-entropy's input gradient is below
    /// the 1e-12 guard of the L2 step's normalisation: a cross-entropy PGD step barely moves them.
    /// </summary>
    static long VanishingCrossEntropyGradients(StandardLinearBaseline baseline)
    {
        using var scope = NewDisposeScope();
        var (model, images, labels) = (baseline.Standard.Model, baseline.Train.Images, baseline.Train.Labels);
        using var frozen = new FrozenParameters([model]);
        var input = images.detach().requires_grad_(true);
        var logits = model.forward(input);
        var gradient = InputGradient.Of(nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum), input);
        var correct = logits.argmax(1).eq(labels);
        return gradient.flatten(1).norm(1, p: 2).lt(1e-12).logical_and(correct).sum().item<long>();
    }

    List<string> Measurements(StandardLinearBaseline baseline, bool reused, TimeSpan baselineTime, double trainAccuracy, double testAccuracy,
        SweepPoint headline, IReadOnlyList<SweepPoint> points)
    {
        var losses = baseline.Standard.Losses;
        long n = baseline.Train.Count;
        var lines = new List<string>
        {
            $"standard linear model (full-batch SGD, lr {LearningRate}, {Iterations} iterations, final parameters): " +
            $"train accuracy {Pct(trainAccuracy)}, test accuracy {Pct(testAccuracy)}; loss {losses[0]:F3} at the start, " +
            $"{losses.Max():F3} at most, {losses[^1]:F3} at the end" +
            (reused ? " (model reused from an earlier claim of this run)" : $" (data loading and training {baselineTime.TotalSeconds:F1} s)"),
            $"L2 PGD, eps {AttackEps}, step {AttackStep}, {AttackSteps} steps, on the {headline.Correct} correctly classified of {n} training images: " +
            $"fooled {headline.Fooled} = {Pct((double)headline.Fooled / headline.Correct)} of them " +
            $"({headline.CatsMadeAirplanes} cats now 'airplane', {headline.Fooled - headline.CatsMadeAirplanes} airplanes now 'cat'); " +
            $"perturbation L2 of the fooled: mean {headline.MeanL2:F3}, max {headline.MaxL2:F3}",
            $"accuracy of the standard model on all {n} training images under that attack: {Pct((double)(headline.Correct - headline.Fooled) / n)} " +
            "(the figure the tutorial printed as the fooled fraction)",
            $"model trained on the {headline.Fooled} relabelled images only ({RelabelledIterations} iterations, lr {RelabelledLearningRate}, final parameters): " +
            $"accuracy on its own (wrong) labels {Pct(headline.RelabelledTrainAccuracy)}, on the true test labels {Pct(headline.TrueTestAccuracy)}",
            $"eps sweep (L2 PGD on the {Loss} loss, step eps/10, {AttackSteps} steps; shares are of the {headline.Correct} correctly classified training images; " +
            "'exact' = fooled by the exact worst case eps·||w_0 - w_1|| with the [0,1] box ignored, an upper bound):",
            "   eps | fooled | fooled share | exact share | mean L2 | relabelled model: own labels, true test | attack, total time",
        };
        lines.AddRange(points.Select(p =>
            $"  {p.Eps,4:G3} | {p.Fooled,6} | {Pct((double)p.Fooled / p.Correct),12} | {Pct((double)p.ExactWorstCase / p.Correct),11} | {p.MeanL2,7:F3} | " +
            $"{Pct(p.RelabelledTrainAccuracy),20}, {Pct(p.TrueTestAccuracy),8} | {p.AttackSeconds,5:F1} s, {p.Seconds,5:F1} s"));
        lines.Add($"||w_0 - w_1|| of the standard model = {TwoClassLinear.WorstCaseMarginDrop(baseline.Standard.Model, 1):F2} (each unit of L2 perturbation lowers the margin by this much); " +
            $"correctly classified training images whose float32 cross-entropy input gradient is below 1e-12: {VanishingCrossEntropyGradients(baseline)} of {headline.Correct}");
        return lines;
    }

    List<string> Notes(StandardLinearBaseline baseline, SweepPoint headline, IReadOnlyList<SweepPoint> points)
    {
        double share = (double)headline.Fooled / headline.Correct;
        var nearlyAll = points.FirstOrDefault(p => (double)p.Fooled / p.Correct >= 0.9);
        var notes = new List<string>
        {
            $"The article says nearly all training images are fooled; at eps {AttackEps} the attack fools {Pct(share)} of the correctly " +
            $"classified ones ({headline.Fooled} of {headline.Correct}). " +
            (nearlyAll is null
                ? $"Even at eps {points[^1].Eps} only {Pct((double)points[^1].Fooled / points[^1].Correct)} are fooled: \"nearly all\" is not reached in the sweep."
                : $"\"Nearly all\" (90% or more) begins at eps {nearlyAll.Eps} in the sweep ({Pct((double)nearlyAll.Fooled / nearlyAll.Correct)}), " +
                  $"where the relabelled model still scores {Pct(nearlyAll.TrueTestAccuracy)} on the true test labels."),
            "The tutorial's printout of the fooled fraction was a bug: it printed the model's accuracy on the attacked images. Here the " +
            "fooled figure is the fraction fooled, and the accuracy under attack is printed separately.",
            $"The headline reproduces: trained only on images whose labels are wrong to a human, the model scores {Pct(headline.TrueTestAccuracy)} " +
            "on the true test labels (article about 60%, tutorial > 70%; a learner of what the images look like would score 0%).",
        };
        if (Loss == AttackLoss.Margin)
            notes.Add("PGD here ascends the logit margin, not the tutorial's cross-entropy. For a two-class linear model the two take the same " +
                "normalised steps in exact arithmetic, but in float32 cross-entropy's input gradient on confidently classified images is too small " +
                $"for the L2 step to use ({VanishingCrossEntropyGradients(baseline)} of the {headline.Correct} correct training images here), which " +
                "would make the larger attacks of the sweep look far weaker than they are (with seed 0 at eps 4, cross-entropy PGD fooled 4,852, the margin 7,159).");
        var losses = baseline.Standard.Losses;
        if (losses[^1] > losses[0])
        {
            double limit = Curvature.RowSgdStabilityLimit(baseline.Train.Images.flatten(1));
            notes.Add($"The article's learning rate {LearningRate} is {LearningRate / limit:F0} times the largest stable one for full-batch gradient descent " +
                $"on these uncentred pixels ({limit:G2}: 4 / the top eigenvalue of the pixels' second moment, which lies along the mean image). " +
                $"The training loss jumps from {losses[0]:F3} to {losses.Max():F3} and ends at {losses[^1]:F3}: the model is far from its loss minimum, " +
                "and its test accuracy is that of the recipe, not of the best linear model (claim 6 trains one with Adam for comparison).");
        }
        return notes;
    }
}
