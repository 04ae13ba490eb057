using System.Diagnostics;
using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Report;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// Claim 1. "With L2 PGD (eps 1.25, step size 0.5, 20 steps) toward class 1 (goldfish), a
/// standard ImageNet ResNet18 classifies every attacked image as goldfish, while the attacked
/// images look identical to the originals." Run on every ImageNet classifier whose weights are
/// present. Images: the first validation images, in sorted path order, that the model classifies
/// correctly and that are not goldfish (a fixed rule, never picked by hand), as many as the scale's
/// <see cref="Sizes"/> say (all there are where the data has fewer; the outcome says so).
/// </summary>
internal sealed class TargetedAttackMakesEveryImageAGoldfish(string modelName) : IExperiment
{
    public const int Goldfish = 1;
    /// <summary>Images attacked: quick 16, full 256. The figure shows the first 16.</summary>
    public sealed record Sizes(int ImageCount)
    {
        public static Sizes For(Scale scale) => new(scale == Scale.Full ? 256 : 16);
    }

    const int Shown = 16, AttackChunk = 64;
    public const double Eps = 1.25, StepSize = 0.5;
    public const int Steps = 20;

    /// <summary>The article: "every image" becomes a goldfish.</summary>
    public static readonly Threshold SuccessRate = Threshold.AtLeast("attacked images classified as goldfish", 1.0, "%");
    /// <summary>The threat model itself: no perturbation leaves the L2 ball (1e-4 allows float rounding).</summary>
    public static readonly Threshold LargestL2 = Threshold.AtMost("largest perturbation L2 norm", Eps + 1e-4);
    /// <summary>"Identical to the originals": at 40 dB PSNR a change is invisible to a person.</summary>
    public static readonly Threshold SmallestPsnr = Threshold.AtLeast("smallest PSNR of attacked vs original", 40, "dB");

    public string Id => $"claim-1-imagenet-{modelName}";
    string IExperiment.ArticleSays => Article;
    public string Title => $"Targeted L2 PGD makes {modelName} see a goldfish in every image";
    const string Article = "targeted L2 PGD (eps 1.25, step 0.5, 20 steps) makes a standard ImageNet ResNet18 classify every image as goldfish, with changes invisible to people";

    public ClaimOutcome Run(ExperimentContext context)
    {
        var clock = Stopwatch.StartNew();
        using var inputs = ImageNetSelection.Prepare(modelName, context, Sizes.For(context.Scale).ImageCount, Goldfish);

        using var scope = NewDisposeScope();
        var (model, validation, chosen) = (inputs.Model, inputs.Validation, inputs.Images);
        var names = validation.Classes.Names;
        context.Log.WriteLine($"{modelName}: attacking {chosen.Count} images (first correctly classified non-goldfish images in sorted order)");

        var targets = full(new long[] { chosen.Count }, Goldfish, dtype: ScalarType.Int64, device: context.Device);
        var threat = new L2Ball(Eps);
        using var result = BatchedAttack.Pgd((start, length) => CrossEntropyObjective.Targeted(model, targets.narrow(0, start, length)), chosen.Images, threat,
            new AttackRun(context.Seed, Progress: context.Progress($"PGD on {modelName}", ProgressUnit.Items)), new PgdOptions { StepSize = StepSize, Steps = Steps }, AttackChunk);
        // Every number and the figure describe the attacked images as 8-bit pixels (what a PNG holds),
        // projected onto the 8-bit grid inside the ball, and are measured again on them.
        var attacked = threat.OntoByteGrid(chosen.Images, result.Adversarial);

        Tensor originalProbabilities, adversarialProbabilities;
        using (no_grad())
        {
            originalProbabilities = softmax(model.forward(chosen.Images), 1).cpu();
            adversarialProbabilities = softmax(model.forward(attacked), 1).cpu();
        }
        var psnr = ImageDistance.Psnr(attacked, chosen.Images).cpu();
        var l2 = (attacked - chosen.Images).flatten(1).norm(1, p: 2).cpu();
        var labels = chosen.Labels.cpu();
        double successRate = adversarialProbabilities.argmax(1).eq(Goldfish).to_type(ScalarType.Float32).mean().item<float>();

        var rows = new List<string> { "image | true class | original prediction | adversarial prediction | L2 | PSNR (dB)" };
        var originalCells = new List<GridCell>();
        var adversarialCells = new List<GridCell>();
        for (int i = 0; i < chosen.Count; i++)
        {
            var (op, oc) = Top(originalProbabilities[i]);
            var (ap, ac) = Top(adversarialProbabilities[i]);
            rows.Add($"{i + 1} | {names[(int)labels[i].item<long>()]} | {names[op]} {oc * 100:F1}% | {names[ap]} {ac * 100:F1}% | {l2[i].item<float>():F3} | {psnr[i].item<float>():F1}");
            if (i >= Shown) continue;
            originalCells.Add(new GridCell(chosen.Images[i], $"{names[op]} {oc * 100:F0}%"));
            adversarialCells.Add(new GridCell(attacked[i], $"{names[ap]} {ac * 100:F0}%"));
        }
        foreach (var row in rows) context.Log.WriteLine(row);

        string figure = $"claim-1-imagenet-{modelName}-goldfish.png";
        var gridRows = new List<GridRow>();
        int count = originalCells.Count;
        for (int start = 0; start < count; start += 8)
        {
            int end = Math.Min(count, start + 8);
            gridRows.Add(new GridRow($"originals {start + 1}-{end}: {modelName}'s predictions", originalCells[start..end]));
            gridRows.Add(new GridRow($"after targeted L2 PGD (eps {Eps}, step {StepSize}, {Steps} steps) toward goldfish", adversarialCells[start..end]));
        }
        ImageGrid.Save(context.Figure(figure), gridRows, title: $"Claim 1 on {modelName}: every image becomes a goldfish", cellSize: 150);

        return new ClaimOutcome
        {
            Id = Id,
            Title = Title,
            ArticleSays = Article,
            Checks =
            [
                SuccessRate.Measure(successRate, "every image (100%)"),
                LargestL2.Measure(l2.max().item<float>(), "eps = 1.25"),
                SmallestPsnr.Measure(psnr.min().item<float>(), "identical-looking images"),
            ],
            Measurements = [$"{chosen.Count} images ({Scales.Name(context.Scale)} scale); mean PSNR {psnr.mean().item<float>():F1} dB, mean L2 {l2.mean().item<float>():F3} (8-bit images)", .. rows],
            Notes = inputs.Shortfall(context.Scale) is string shortfall ? [shortfall] : [],
            Figures = [figure],
            Elapsed = clock.Elapsed,
        };
    }

    static (int Class, double Confidence) Top(Tensor probabilities)
    {
        int c = (int)probabilities.argmax().item<long>();
        return (c, probabilities[c].item<float>());
    }
}
