using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Report;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Experiments;

internal sealed partial class RobustLinearExperiment
{
    static readonly long[] BothClasses = [0L, 1L];

    const int Columns = 8;

    /// <summary>
    /// Test images both models classify correctly (half cats, half airplanes, in data order), each
    /// attacked on each model at the large eps, with the prediction on the attacked image.
    /// </summary>
    string UnderAttackFigure(ExperimentContext context, LinearClassifier standard, LinearClassifier robust, LabelledImages test)
    {
        const string name = "claim-6-cifar-under-attack.png";
        using var scope = NewDisposeScope();
        var bothRight = LinearTraining.Predict(standard, test.Images).eq(test.Labels)
            .logical_and(LinearTraining.Predict(robust, test.Images).eq(test.Labels));
        var chosen = BothClasses.SelectMany(c => bothRight.logical_and(test.Labels.eq(c)).nonzero().squeeze(1).cpu().data<long>().Take(Columns / 2)).ToArray();
        var index = tensor(chosen, device: test.Images.device);
        var images = test.Images.index_select(0, index);
        var labels = test.Labels.index_select(0, index);
        var names = test.ClassNames;

        GridRow Attacked(string title, LinearClassifier model)
        {
            using var attacked = AttackedSet.Attack(model, images, labels, new L2Ball(LargeEps),
                new AttackRun(context.Seed), new PgdOptions { StepSize = LargeEps / 10, Steps = AttackSteps }, Loss, Chunk);
            var cells = Enumerable.Range(0, chosen.Length).Select(i =>
            {
                long predicted = attacked.AdversarialPrediction[i].item<long>();
                string verdict = predicted == labels[i].item<long>() ? "still" : "now";
                return new GridCell(attacked.Adversarial[i].clone(), $"{verdict} {names[(int)predicted]}");
            }).ToList();
            return new GridRow(title, cells);
        }

        ImageGrid.Save(context.Figure(name),
        [
            new("test images (both models right)", Enumerable.Range(0, chosen.Length).Select(i => new GridCell(images[i], names[(int)labels[i].item<long>()])).ToList()),
            Attacked($"attacked on the standard model, L2 eps {LargeEps}", standard),
            Attacked($"attacked on the robust model, L2 eps {LargeEps}", robust),
        ], $"Linear models under L2 PGD at eps {LargeEps}: the standard model's predictions flip, the robust model's mostly do not", cellSize: 112);
        return name;
    }

    /// <summary>Accuracy under attack against eps for every model, with eps 0 the clean accuracy.</summary>
    static string SweepFigure(ExperimentContext context, IReadOnlyList<ModelReport> reports)
    {
        const string name = "claim-6-cifar-eps-sweep.png";
        Plots.SaveLines(context.Figure(name), "Test accuracy under L2 PGD: standard vs adversarially trained linear models", "attack eps (L2)", "test accuracy",
            reports.Select(r => new PlotSeries(r.Name, r.Rows.Select(row => (row.Eps, row.UnderAttack)).Prepend((0.0, r.Clean)).ToList())).ToList());
        return name;
    }

    /// <summary>
    /// w_0 - w_1 of each model as an image (grey = 0, scaled to its own largest magnitude): the direction
    /// every attack on a linear model moves along. The robust model's is smoother and more image-like.
    /// </summary>
    static string WeightsFigure(ExperimentContext context, IReadOnlyList<(string Name, LinearClassifier Model)> models)
    {
        const string name = "claim-6-cifar-weights.png";
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var cells = models.Select(m =>
        {
            var w = m.Model.Layer.weight!;
            var difference = (w[0] - w[1]).reshape(3, 32, 32);
            return new GridCell(difference / (2 * difference.abs().max()) + 0.5, m.Name);
        }).ToList();
        ImageGrid.Save(context.Figure(name), [new GridRow("w_cat - w_airplane, as an image", cells)], "What each linear model looks for", cellSize: 160);
        return name;
    }
}
