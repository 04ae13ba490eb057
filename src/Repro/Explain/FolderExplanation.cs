using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Models.Formats;
using Repro.Report;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>The explanations <see cref="FolderExplanation"/> writes.</summary>
[Flags]
internal enum ExplanationKinds
{
    Gradient = 1,
    SmoothGrad = 2,
    FeatureVisualisation = 4,
    All = Gradient | SmoothGrad | FeatureVisualisation,
}

/// <summary>Settings of <see cref="FolderExplanation"/>: SmoothGrad's copies and noise, feature visualisation's PGD (the article's L2 eps 1000, step 5, 20 steps).</summary>
internal sealed record ExplanationOptions
{
    public ExplanationKinds Kinds { get; init; } = ExplanationKinds.All;
    /// <summary>The class whose logit the gradients explain; null: each image's predicted class.</summary>
    public int? Target { get; init; }
    public int Samples { get; init; } = 50;
    public double Sigma { get; init; } = 0.15;
    /// <summary>The representation component to maximise; null: each image's most active one.</summary>
    public int? Component { get; init; }
    public int Steps { get; init; } = 20;
    public double StepSize { get; init; } = 5;
    public double Eps { get; init; } = 1000;
    public long Seed { get; init; }
    /// <summary>The precision of the model's passes for the vanilla gradient and SmoothGrad (feature visualisation stays float32); predictions are float32.</summary>
    public Attacks.AttackPrecision Precision { get; init; } = Attacks.AttackPrecision.Float32;
}

/// <summary>One explained image: the model's prediction, the class explained and the component visualised.</summary>
internal sealed record FolderExplanationRow(string File, string Predicted, double Confidence, string Explained, int? Component, double? ComponentBefore, double? ComponentAfter);

/// <summary>
/// Explains a user's own images: every image of a folder (sorted), resized and centre-cropped to
/// the model's input, gets the tutorial's picture of its vanilla gradient and of its SmoothGrad
/// (Smilkov et al. 2017) for the explained class's logit, and a feature visualisation (Engstrom et
/// al. 2019: one representation component maximised from the image). Writes NAME.gradient.png,
/// NAME.smoothgrad.png, NAME.feature-K.png, a grid explain.png and explain.tsv, all at once when
/// everything is written.
/// </summary>
internal static class FolderExplanation
{
    public static IReadOnlyList<FolderExplanationRow> Run(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> classNames, string imageFolder, int imageSize,
        ExplanationOptions options, string outputFolder, Action<long, long>? progress = null)
    {
        // The same folder policy as the attack (ImageFolder: image types by extension, OS metadata and other entries skipped).
        var listing = ImageFolder.List(imageFolder);
        var files = listing.Images.ToList();
        if (files.Count == 0)
            throw new ReproInputException($"no image files ({string.Join(" ", ImageFolder.Extensions)}) in {imageFolder}" + (listing.Skipped.Count > 0 ? $" ({ImageFolder.Summary(listing.Skipped)})" : ""));
        bool featureVisualisation = options.Kinds.HasFlag(ExplanationKinds.FeatureVisualisation);
        if (featureVisualisation && (model is not IRepresentationModel || model is ImportedModel { HasRepresentation: false }))
            throw new ReproInputException("feature visualisation needs the input of the model's final linear classifier, which this model does not expose; explain with --method gradient or smoothgrad");
        if (options.Target is int t && (t < 0 || t >= classNames.Count)) throw new ReproInputException($"--target {t} is out of range (0-{classNames.Count - 1})");

        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        var smoothGrad = new SmoothGrad(new VanillaGradient(model, options.Precision), options.Samples, options.Sigma, seed: options.Seed);
        string staging = ReportWriter.StagingFolder(outputFolder);
        try
        {
            var rows = new List<FolderExplanationRow>();
            var grid = new List<GridRow>();
            for (int i = 0; i < files.Count; i++)
            {
                using var scope = NewDisposeScope();
                string stem = Path.GetFileNameWithoutExtension(files[i]);
                var image = ImageFile.LoadResizedCentreCrop(files[i], resize: imageSize * 256 / 224, crop: imageSize).unsqueeze(0).to(device);
                Tensor probabilities;
                using (no_grad()) probabilities = softmax(model.call(image), 1);
                int predicted = (int)probabilities[0].argmax().item<long>();
                int explained = options.Target ?? predicted;
                var target = AttributionTarget.Logit(tensor(new long[] { explained }, device: device));
                var cells = new List<GridCell> { new(image[0], $"{classNames[predicted]} {probabilities[0, predicted].item<float>() * 100:F0}%") };

                if (options.Kinds.HasFlag(ExplanationKinds.Gradient))
                {
                    var picture = SaliencyImage.Visualise(new VanillaGradient(model, options.Precision).Attribute(image, target))[0];
                    ImageFile.SavePng(picture, Path.Combine(staging, stem + ".gradient.png"));
                    cells.Add(new GridCell(picture, $"gradient: {classNames[explained]}"));
                }
                if (options.Kinds.HasFlag(ExplanationKinds.SmoothGrad))
                {
                    var picture = SaliencyImage.Visualise(smoothGrad.Attribute(image, target))[0];
                    ImageFile.SavePng(picture, Path.Combine(staging, stem + ".smoothgrad.png"));
                    cells.Add(new GridCell(picture, $"SmoothGrad ({options.Samples}, sigma {options.Sigma})"));
                }
                int? component = null;
                double? before = null, after = null;
                if (featureVisualisation)
                {
                    var representation = ((IRepresentationModel)model);
                    long size;
                    using (no_grad())
                    {
                        var features = representation.Representation(image);
                        size = features.shape[1];
                        component = options.Component ?? (int)features[0].argmax().item<long>();
                        if (component < 0 || component >= size) throw new ReproInputException($"--component {component} is out of range: the representation has {size} components (0-{size - 1})");
                        before = features[0, component.Value].item<float>();
                    }
                    using var result = FeatureVisualisation.Maximise(model, image, component.Value, new L2Ball(options.Eps),
                        new PgdOptions { Steps = options.Steps, StepSize = options.StepSize, Seed = options.Seed });
                    after = FeatureVisualisation.Component(model, result.Adversarial, component.Value)[0].item<float>();
                    ImageFile.SavePng(result.Adversarial[0], Path.Combine(staging, $"{stem}.feature-{component}.png"));
                    cells.Add(new GridCell(result.Adversarial[0].clone(), $"component {component}: {before:F2} -> {after:F2}"));
                }
                grid.Add(new GridRow(Path.GetFileName(files[i]), cells.Select(c => c with { Image = c.Image.detach().to(CPU).clone().DetachFromDisposeScope() }).ToList()));
                rows.Add(new FolderExplanationRow(Path.GetFileName(files[i]), classNames[predicted], probabilities[0, predicted].item<float>(), classNames[explained], component, before, after));
                progress?.Invoke(i + 1, files.Count);
            }
            ImageGrid.Save(Path.Combine(staging, "explain.png"), grid, title: "image | vanilla gradient | SmoothGrad | feature visualisation");
            foreach (var cell in grid.SelectMany(r => r.Cells)) cell.Image.Dispose();
            File.WriteAllLines(Path.Combine(staging, "explain.tsv"),
                ["file\tpredicted\tconfidence\texplained\tcomponent\tcomponent_before\tcomponent_after",
                 .. rows.Select(r => $"{r.File}\t{r.Predicted}\t{r.Confidence:F4}\t{r.Explained}\t{r.Component}\t{r.ComponentBefore:F4}\t{r.ComponentAfter:F4}")]);
            ReportWriter.Publish(staging, outputFolder);
            return rows;
        }
        finally
        {
            StagingFolders.Discard(staging);
        }
    }
}
