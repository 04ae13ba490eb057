using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Repro.Attacks;
using Repro.Data;
using Repro.Explain;
using Repro.Models;
using Repro.Models.Formats;
using Repro.Report;
using static TorchSharp.torch;

namespace Repro.Application;

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
/// al. 2019: one representation component maximised from the image). Each output keeps the input's
/// whole name (as the attack's), so a.jpg and a.jpeg cannot collide: NAME.EXT.gradient.png,
/// NAME.EXT.smoothgrad.png, NAME.EXT.feature-K.png, a grid explain.png and explain.tsv (<see cref="Tsv"/>
/// escaping), published together into an output folder that holds only this run's files
/// (<see cref="ExclusiveOutputFolder"/>) when everything is written.
/// </summary>
internal static partial class FolderExplanation
{
    /// <summary>File name of the results table written in the output folder.</summary>
    public const string Table = "explain.tsv";
    /// <summary>File name of the grid of every image and its explanations.</summary>
    public const string Grid = "explain.png";

    /// <summary>The TSV header: one name per column.</summary>
    public static readonly string[] Columns = ["file", "predicted", "confidence", "explained", "component", "component_before", "component_after"];

    /// <summary>The output file of an input file name and an explanation ("gradient", "smoothgrad", "feature-K").</summary>
    public static string OutputName(string inputName, string explanation) => $"{inputName}.{explanation}.png";

    /// <summary>Whether an output-folder entry is something an explanation run writes (what overwriting may replace).</summary>
    public static bool IsOwnResult(string name) =>
        name is Table or Grid || name.EndsWith(".gradient.png", StringComparison.Ordinal) || name.EndsWith(".smoothgrad.png", StringComparison.Ordinal) ||
        FeatureFile().IsMatch(name) || (name.StartsWith(".staging-", StringComparison.Ordinal) && name.EndsWith('/'));

    /// <summary>
    /// Explains every image of <paramref name="imageFolder"/> (<see cref="ImageFolder"/>: OS metadata and other
    /// entries skipped and named in the table's log) and publishes the results into <paramref name="output"/>.
    /// Every setting is checked before the first image is read: the target class, and the component against
    /// the representation's size (measured on a blank image).
    /// </summary>
    /// <param name="model">A classifier: [N,3,S,S] images in [0,1] to logits [N,classes]; feature visualisation needs an <see cref="IRepresentationModel"/>.</param>
    /// <param name="classNames">One name per logit.</param>
    /// <param name="imageFolder">The folder whose images are explained (top level only).</param>
    /// <param name="imageSize">The square side S the model takes, in pixels.</param>
    /// <param name="options">What to write, and how.</param>
    /// <param name="output">The output folder, prepared under the output-folder policy; it must not be the image folder.</param>
    /// <param name="progress">Called with (images done, images in all) after each image.</param>
    /// <param name="skipped">Receives the folder entries that were skipped (OS metadata, other files), if any.</param>
    /// <exception cref="ReproInputException">No images, a setting the model cannot take (named by its option), or an output name too long.</exception>
    public static IReadOnlyList<FolderExplanationRow> Run(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> classNames, string imageFolder, int imageSize,
        ExplanationOptions options, ExclusiveOutputFolder output, Action<long, long>? progress = null, Action<IReadOnlyList<SkippedFile>>? skipped = null)
    {
        // The same folder policy as the attack (ImageFolder: image types by extension, OS metadata and other entries skipped).
        var listing = ImageFolder.List(imageFolder, nameof(imageFolder));
        var files = listing.Images.ToList();
        if (files.Count == 0)
            throw new ReproInputException($"no image files ({string.Join(" ", ImageFolder.Extensions)}) in {imageFolder}" + (listing.Skipped.Count > 0 ? $" ({ImageFolder.Summary(listing.Skipped)})" : ""));
        if (Path.GetFullPath(output.Folder).TrimEnd('/') == Path.GetFullPath(imageFolder).TrimEnd('/'))
            throw new ReproArgumentException(nameof(output), $"{output.Folder} is the {nameof(imageFolder)} folder: choose another output folder");
        bool featureVisualisation = options.Kinds.HasFlag(ExplanationKinds.FeatureVisualisation);
        if (featureVisualisation && (model is not IRepresentationModel || model is ImportedModel { HasRepresentation: false }))
            throw new ReproArgumentException($"{nameof(options)}.{nameof(options.Kinds)}", $"feature visualisation needs the input of the model's final linear classifier, which this model does not expose; explain with {nameof(ExplanationKinds.Gradient)} or {nameof(ExplanationKinds.SmoothGrad)}");
        if (options.Target is int t && (t < 0 || t >= classNames.Count))
            throw new ReproArgumentException($"{nameof(options)}.{nameof(options.Target)}", $"{t} is out of range (0-{classNames.Count - 1})");
        foreach (var file in files)
        {
            string longest = OutputName(Path.GetFileName(file), $"feature-{int.MaxValue}");
            if (Encoding.UTF8.GetByteCount(longest) > 255)
                throw new ReproInputException($"{file}: its output name {longest} would be longer than 255 bytes: rename the file");
        }

        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        if (featureVisualisation && options.Component is int wanted)
        {
            long size;
            using (var scope = NewDisposeScope())
            using (no_grad())
                size = ((IRepresentationModel)model).Representation(zeros(1, 3, imageSize, imageSize, device: device)).shape[1];
            if (wanted < 0 || wanted >= size) throw ComponentOutOfRange(wanted, size);
        }
        if (listing.Skipped.Count > 0) skipped?.Invoke(listing.Skipped);
        var smoothGrad = new SmoothGrad(new VanillaGradient(model, options.Precision), options.Samples, options.Sigma, seed: options.Seed);
        string staging = ReportWriter.StagingFolder(output.Folder);
        try
        {
            var rows = new List<FolderExplanationRow>();
            var grid = new List<GridRow>();
            for (int i = 0; i < files.Count; i++)
            {
                using var scope = NewDisposeScope();
                string name = Path.GetFileName(files[i]);
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
                    ImageFile.SavePng(picture, Path.Combine(staging, OutputName(name, "gradient")));
                    cells.Add(new GridCell(picture, $"gradient: {classNames[explained]}"));
                }
                if (options.Kinds.HasFlag(ExplanationKinds.SmoothGrad))
                {
                    var picture = SaliencyImage.Visualise(smoothGrad.Attribute(image, target))[0];
                    ImageFile.SavePng(picture, Path.Combine(staging, OutputName(name, "smoothgrad")));
                    cells.Add(new GridCell(picture, $"SmoothGrad ({options.Samples}, sigma {options.Sigma.ToString(CultureInfo.InvariantCulture)})"));
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
                        if (component < 0 || component >= size) throw ComponentOutOfRange(component.Value, size);
                        before = features[0, component.Value].item<float>();
                    }
                    using var result = FeatureVisualisation.Maximise(model, image, component.Value, new L2Ball(options.Eps),
                        new AttackRun(options.Seed), new PgdOptions { Steps = options.Steps, StepSize = options.StepSize });
                    after = FeatureVisualisation.Component(model, result.Adversarial, component.Value)[0].item<float>();
                    ImageFile.SavePng(result.Adversarial[0], Path.Combine(staging, OutputName(name, $"feature-{component}")));
                    cells.Add(new GridCell(result.Adversarial[0].clone(), $"component {component}: {before:F2} -> {after:F2}"));
                }
                grid.Add(new GridRow(Path.GetFileName(files[i]), cells.Select(c => c with { Image = c.Image.detach().to(CPU).clone().DetachFromDisposeScope() }).ToList()));
                rows.Add(new FolderExplanationRow(Path.GetFileName(files[i]), classNames[predicted], probabilities[0, predicted].item<float>(), classNames[explained], component, before, after));
                progress?.Invoke(i + 1, files.Count);
            }
            ImageGrid.Save(Path.Combine(staging, Grid), grid, title: "image | vanilla gradient | SmoothGrad | feature visualisation");
            foreach (var cell in grid.SelectMany(r => r.Cells)) cell.Image.Dispose();
            var table = new StringBuilder();
            table.Append(Tsv.Line(Columns)).Append('\n');
            foreach (var r in rows) table.Append(Tsv.Line(Fields(r))).Append('\n');
            AtomicFile.WriteAllText(Path.Combine(staging, Table), table.ToString());
            output.Publish(staging, Table);
            return rows;
        }
        finally
        {
            StagingFolders.Discard(staging);
        }
    }

    static ReproArgumentException ComponentOutOfRange(int component, long size) =>
        new($"options.{nameof(ExplanationOptions.Component)}", $"{component} is out of range: the representation has {size} components (0-{size - 1})");

    /// <summary>The table's fields for a row (invariant culture; a component's columns empty when there is none).</summary>
    public static IEnumerable<string> Fields(FolderExplanationRow r) =>
    [
        r.File, r.Predicted, Number(r.Confidence), r.Explained, r.Component?.ToString(CultureInfo.InvariantCulture) ?? "",
        r.ComponentBefore is double b ? Number(b) : "", r.ComponentAfter is double a ? Number(a) : "",
    ];

    static string Number(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\.feature-[0-9]+\.png$")]
    private static partial Regex FeatureFile();
}
