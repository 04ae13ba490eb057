using Repro.Report;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Experiments;

internal sealed partial class NonRobustFeaturesExperiment
{
    static readonly long[] BothClasses = [0L, 1L];

    const int Columns = 8;

    /// <summary>The first <paramref name="count"/> indices (in data order) whose label is <paramref name="label"/>.</summary>
    static long[] FirstOf(Tensor labels, long label, int count) =>
        labels.eq(label).nonzero().squeeze(1).cpu().data<long>().Take(count).ToArray();

    /// <summary>Half the columns from each class, so both directions of relabelling are shown.</summary>
    static long[] Balanced(Tensor labels, int count) =>
        FirstOf(labels, 0, count / 2).Concat(FirstOf(labels, 1, count - count / 2)).ToArray();

    static string TrainingSamplesFigure(ExperimentContext context, StandardLinearBaseline baseline)
    {
        const string name = "claim-2-cifar-training-samples.png";
        using var scope = NewDisposeScope();
        var (images, labels, names) = (baseline.Train.Images, baseline.Train.Labels, baseline.Train.ClassNames);
        var rows = BothClasses.Select(c => new GridRow($"training images labelled '{names[(int)c]}' (label {c})",
            FirstOf(labels, c, Columns).Select(i => new GridCell(images[i], names[(int)c])).ToList())).ToList();
        ImageGrid.Save(context.Figure(name), rows, "CIFAR-10 cat vs airplane: the training set", cellSize: 112);
        return name;
    }

    static IReadOnlyList<string> RelabelledFigures(ExperimentContext context, StandardLinearBaseline baseline, SweepPoint point)
    {
        if (point.Fooled == 0) return [];
        using var scope = NewDisposeScope();
        var names = baseline.Train.ClassNames;
        string Name(Tensor label) => names[(int)label.item<long>()];
        string Other(Tensor label) => names[1 - (int)label.item<long>()];
        var shown = Balanced(point.NewLabels!, Columns);

        const string pairs = "claim-2-cifar-relabelled.png";
        ImageGrid.Save(context.Figure(pairs),
        [
            new("originals (correctly classified; true label)", shown.Select(i => new GridCell(point.Originals![i], Other(point.NewLabels![i]))).ToList()),
            new($"after L2 PGD, eps {point.Eps}: relabelled with the model's new prediction",
                shown.Select(i => new GridCell(point.Adversarial![i], $"→ {Name(point.NewLabels![i])}")).ToList()),
        ], $"Relabelled training set: {point.Fooled} fooled images, each labelled with the class the model now sees", cellSize: 112);

        const string versus = "claim-2-cifar-relabelled-vs-test.png";
        var test = baseline.Test;
        var testShown = Balanced(test.Labels, Columns);
        ImageGrid.Save(context.Figure(versus),
        [
            new("relabelled training set: what the new model learns from", shown.Select(i => new GridCell(point.Adversarial![i], Name(point.NewLabels![i]))).ToList()),
            new("test set: what it is judged on (true labels)", testShown.Select(i => new GridCell(test.Images[i], Name(test.Labels[i]))).ToList()),
        ], "Every training label looks wrong to a human; the test labels are right", cellSize: 112);

        const string predictions = "claim-2-cifar-relabelled-model-predictions.png";
        var predicted = point.TestPredictions!;
        var rows = BothClasses.Select(c => new GridRow($"test images labelled '{names[(int)c]}': the relabelled model's predictions",
            FirstOf(test.Labels, c, Columns).Select(i => new GridCell(test.Images[i],
                $"{(predicted[i].item<long>() == c ? "✓" : "✗")} {Name(predicted[i])}")).ToList())).ToList();
        ImageGrid.Save(context.Figure(predictions), rows,
            $"Model trained only on the relabelled set: {Pct(point.TrueTestAccuracy)} right on the true test labels", cellSize: 112);
        return [pairs, versus, predictions];
    }

    static string SweepFigure(ExperimentContext context, IReadOnlyList<SweepPoint> points)
    {
        const string name = "claim-2-cifar-eps-sweep.png";
        Plots.SaveLines(context.Figure(name), "Relabelled adversarial sets by attack size: fooled share and what a model learns",
            "attack eps (L2)", "fraction", [
                new PlotSeries("fooled (of correctly classified training images)", points.Select(p => (p.Eps, (double)p.Fooled / p.Correct)).ToList()),
                new PlotSeries("relabelled model: true test accuracy", points.Select(p => (p.Eps, p.TrueTestAccuracy)).ToList()),
                new PlotSeries("chance", points.Select(p => (p.Eps, 0.5)).ToList(), Dashed: true),
            ], logX: true);
        return name;
    }
}
