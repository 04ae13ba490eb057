using System.Globalization;
using System.Text;
using Repro.Attacks;
using Repro.Data;
using Repro.Report;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Application;

/// <summary>
/// One attacked image of a folder, every number measured on the PNG as written (reloaded from disk):
/// the model's prediction and confidence before and after, whether the attack's goal holds on the
/// written file, and how far the written file is from the original crop (L2 and L-inf in [0,1]
/// pixel units, exact from the bytes; PSNR in dB, +infinity when identical).
/// </summary>
public sealed record FolderAttackRow(string File, string Output, string Original, double OriginalConfidence, string Adversarial, double AdversarialConfidence,
    bool Success, double L2, double Linf, double Psnr);

/// <summary>What a folder attack did: its rows, the folder entries it skipped (with reasons), the decoder's notes, and where it wrote.</summary>
public sealed record FolderAttackReport(IReadOnlyList<FolderAttackRow> Rows, IReadOnlyList<SkippedFile> Skipped, IReadOnlyList<string> Notes, string OutputFolder);

/// <summary>How a folder attack treats its inputs and its output folder.</summary>
public sealed record FolderAttackSettings
{
    /// <summary>Decoding limits (pixel count).</summary>
    public ImageDecodeOptions Decode { get; init; } = ImageDecodeOptions.Default;
    /// <summary>Skip (and list) images that cannot be decoded instead of refusing the run.</summary>
    public bool SkipBad { get; init; }
    /// <summary>Replace an earlier attack's results in the output folder (never other files).</summary>
    public bool Overwrite { get; init; }
    /// <summary>Images attacked together in one batch (>= 1); default 8.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>The square side the model takes, in pixels: images are resized to 256/224 of it (short side) and centre-cropped to it, as torchvision's evaluation transform does for 224.</summary>
    public int ImageSize { get; init; } = 224;
}

/// <summary>
/// Attacks a user's own images: every image of a folder (<see cref="ImageFolder"/>: OS metadata and
/// other files skipped and reported), decoded by <see cref="ImageDecoder"/> and cropped with the
/// ImageNet evaluation transform, attacked in batches. Each adversarial crop is projected onto the
/// 8-bit grid inside the threat model (<see cref="ThreatModel.OntoByteGrid"/>), written as
/// <c>NAME.EXT.adv.png</c> (the input's full name is kept, so outputs cannot collide), reloaded and
/// measured; <c>attack.tsv</c> (<see cref="Tsv"/> escaping) lists one row per input. The output folder
/// holds only this run's files (<see cref="ExclusiveOutputFolder"/>), published when all are written.
/// Untargeted attacks push away from the model's own prediction on the clean image. The model runs
/// in eval mode throughout and is given back in its own mode.
/// </summary>
public static class FolderAttack
{
    /// <summary>File name of the results table written in the output folder.</summary>
    public const string Table = "attack.tsv";
    /// <summary>Appended to an input's full file name to name its adversarial PNG.</summary>
    public const string OutputSuffix = ".adv.png";
    /// <summary>The ImageNet evaluation transform's ratio: short side resized to 256 for a 224 crop (scaled to <see cref="FolderAttackSettings.ImageSize"/>).</summary>
    public const int Resize = 256, Crop = 224;

    /// <summary>The TSV header: one name per column.</summary>
    public static readonly string[] Columns =
        ["file", "output", "original", "original_confidence", "adversarial", "adversarial_confidence", "success", "L2", "Linf", "PSNR_dB"];

    /// <summary>The output file of an input file name.</summary>
    public static string OutputName(string inputName) => inputName + OutputSuffix;

    /// <summary>Whether an output-folder entry is something a folder attack writes (what <see cref="FolderAttackSettings.Overwrite"/> may replace).</summary>
    public static bool IsOwnResult(string name) =>
        name == Table || name.EndsWith(OutputSuffix, StringComparison.Ordinal) ||
        (name.StartsWith(".staging-", StringComparison.Ordinal) && name.EndsWith('/')) ||
        (name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal));

    /// <summary>
    /// Attacks every image of <paramref name="imageFolder"/> with PGD on the cross-entropy (targeted toward
    /// <paramref name="target"/>, or away from the model's clean prediction) and writes the adversarial
    /// PNGs and <see cref="Table"/> to <paramref name="outputFolder"/>.
    /// </summary>
    /// <param name="model">An ImageNet-style classifier: [N,3,224,224] images in [0,1] to logits [N,classes].</param>
    /// <param name="classNames">One name per logit.</param>
    /// <param name="imageFolder">The folder whose images are attacked.</param>
    /// <param name="target">Target class for a targeted attack, or null for untargeted.</param>
    /// <param name="threat">The set to stay within (eps in [0,1] pixel units); each result is projected onto the 8-bit grid inside it.</param>
    /// <param name="run">Seed, progress (images done, images in all, after each batch) and precision; its example ids must be null: each file's id is its name (<see cref="ExampleIds.OfName"/>), so that its random start does not depend on the other files.</param>
    /// <param name="options">PGD settings (step size in [0,1] pixel units).</param>
    /// <param name="outputFolder">Where the results go: it holds only this run's files and must not be the image folder.</param>
    /// <param name="settings">Decoding, batching, crop size and overwrite settings; null: the defaults.</param>
    /// <returns>One row per attacked image, the skipped entries, the decoder's notes and the output folder.</returns>
    /// <exception cref="ReproInputException">Bad options, folder, image (unless skipped) or output folder, named.</exception>
    /// <exception cref="ReproEnvironmentException">The disk refused a write (full, read-only, no permission), named.</exception>
    public static FolderAttackReport Run(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> classNames, string imageFolder,
        int? target, ThreatModel threat, AttackRun run, PgdOptions options, string outputFolder, FolderAttackSettings? settings = null)
    {
        Guard.NotNull(run);
        if (run.ExampleIds is not null) throw new ReproArgumentException($"{nameof(run)}.{nameof(run.ExampleIds)}", "must be null: each file's example id is its name");
        settings ??= new FolderAttackSettings();
        var parameter = model.parameters().FirstOrDefault();
        var device = parameter?.device ?? CPU;
        var dtype = parameter is not null && parameter.is_floating_point() ? parameter.dtype : ScalarType.Float32;
        options.Validate(dtype);
        threat.RequireRepresentable(dtype);
        settings.Decode.Validate($"{nameof(settings)}.{nameof(settings.Decode)}.{nameof(settings.Decode.MaxPixels)}");
        if (settings.BatchSize < 1) throw new ReproArgumentException($"{nameof(settings)}.{nameof(settings.BatchSize)}", $"must be >= 1, got {settings.BatchSize}");
        if (target is int t && (t < 0 || t >= classNames.Count)) throw new ReproArgumentException(nameof(target), $"class {t} is not one of the model's {classNames.Count} classes");

        var listing = ImageFolder.List(imageFolder, nameof(imageFolder));
        if (Path.GetFullPath(outputFolder).TrimEnd('/') == Path.GetFullPath(imageFolder).TrimEnd('/'))
            throw new ReproArgumentException(nameof(outputFolder), $"{outputFolder} is the {nameof(imageFolder)} folder: choose another output folder");
        var output = ExclusiveOutputFolder.Prepare(outputFolder, settings.Overwrite, IsOwnResult, nameof(outputFolder), $"{nameof(settings)}.{nameof(settings.Overwrite)}");
        var (inputs, skipped, notes) = DecodeAll(listing, settings);
        if (inputs.Count == 0)
            throw new ReproInputException($"no images to attack in {imageFolder}" + (skipped.Count > 0 ? $" ({ImageFolder.Summary(skipped)})" : ""));

        string staging = ReportWriter.StagingFolder(output.Folder);
        try
        {
            var rows = new List<FolderAttackRow>();
            // Files, not an attack loop: a batch's pixels are stacked, attacked in one Pgd.Run, projected,
            // written and dropped before the next, so memory stays one batch of images whatever the
            // folder's size (BatchedAttack would need the whole folder as one tensor). Each file's random
            // start is keyed by its name, so the batch size changes no number.
            for (int start = 0; start < inputs.Count; start += settings.BatchSize)
            {
                var batch = inputs.Skip(start).Take(settings.BatchSize).ToList();
                rows.AddRange(AttackBatch(model, classNames, target, threat, run, options, batch, staging, device, dtype));
                run.Progress?.Invoke(start + batch.Count, inputs.Count);
            }
            var table = new StringBuilder();
            table.Append(Tsv.Line(Columns)).Append('\n');
            foreach (var r in rows) table.Append(Tsv.Line(Fields(r))).Append('\n');
            AtomicFile.WriteAllText(Path.Combine(staging, Table), table.ToString());
            int staged = Directory.GetFiles(staging).Length;
            if (staged != rows.Count + 1)
                throw new ReproEnvironmentException($"output folder {output.Folder}: {rows.Count + 1} files were written but {staged} are there " +
                                                    "(a file system that ignores case merged two names?)");
            output.Publish(staging, Table);
            return new FolderAttackReport(rows, skipped, notes, output.Folder);
        }
        finally
        {
            StagingFolders.Discard(staging);
        }
    }

    /// <summary>The table's fields for a row: confidences to 4 places, distances to 6 (so no rounding shows a value over eps that is not).</summary>
    public static IEnumerable<string> Fields(FolderAttackRow r) =>
    [
        r.File, r.Output, r.Original, Number(r.OriginalConfidence, "F4"), r.Adversarial, Number(r.AdversarialConfidence, "F4"),
        r.Success ? "true" : "false", Number(r.L2, "F6"), Number(r.Linf, "F6"), double.IsPositiveInfinity(r.Psnr) ? "inf" : Number(r.Psnr, "F2"),
    ];

    static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    sealed record Input(string Path, string Name, Rgba8Image Crop);

    static (List<Input> Inputs, List<SkippedFile> Skipped, List<string> Notes) DecodeAll(ImageFolderListing listing, FolderAttackSettings settings)
    {
        var files = listing.Images;
        var results = new (Input? Input, SkippedFile? Skip, string? Note, Exception? Error)[files.Count];
        ParallelLoad.For(files.Count, i =>
        {
            string path = files[i], name = Path.GetFileName(path);
            if (Encoding.UTF8.GetByteCount(OutputName(name)) > 255)
            {
                var tooLong = new ReproInputException($"{path}: its output name {OutputName(name)} would be longer than 255 bytes: rename the file");
                results[i] = settings.SkipBad ? (null, new SkippedFile(name, "name too long for its output name"), null, null) : (null, null, null, tooLong);
                return;
            }
            try
            {
                var decoded = ImageDecoder.Decode(path, settings.Decode);
                results[i] = (new Input(path, name, EvaluationTransform.ResizeCentreCrop(decoded.Image, settings.ImageSize * Resize / Crop, settings.ImageSize)), null, decoded.Note, null);
            }
            catch (ReproInputException e) when (settings.SkipBad)
            {
                results[i] = (null, new SkippedFile(name, Reason(e.Message, path)), null, null);
            }
            catch (ReproInputException e)
            {
                results[i] = (null, null, null, e);
            }
        }, settings.Decode.ParallelDecodes);
        // The first bad file in folder order, whichever thread met it first.
        if (results.Select(r => r.Error).FirstOrDefault(e => e is not null) is Exception error) throw error;
        var skipped = listing.Skipped.Concat(results.Where(r => r.Skip is not null).Select(r => r.Skip!)).ToList();
        return (results.Where(r => r.Input is not null).Select(r => r.Input!).ToList(), skipped,
                results.Where(r => r.Note is not null).Select(r => r.Note!).ToList());
    }

    /// <summary>A decoder message without the file's path (the summary names the file already).</summary>
    static string Reason(string message, string path)
    {
        foreach (var prefix in new[] { $"cannot decode image {path}: ", $"cannot read image {path}: ", $"image {path} " })
            if (message.StartsWith(prefix, StringComparison.Ordinal)) return message[prefix.Length..];
        return message.Replace(path, Path.GetFileName(path));
    }

    static List<FolderAttackRow> AttackBatch(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> classNames, int? target, ThreatModel threat,
        AttackRun run, PgdOptions options, List<Input> batch, string staging, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // Originals as float32 bytes/255 (exactly on the 8-bit grid) for the byte-grid projection and the distances.
        var originals = stack(batch.Select(b => b.Crop.ToTensor()).ToArray()).to(device);
        var images = originals.to_type(dtype);
        var (cleanProbabilities, predicted) = Classify(model, images, batch.Select(b => b.Path));
        if (cleanProbabilities.shape[1] != classNames.Count)
            throw new ReproInputException($"the model gives {cleanProbabilities.shape[1]} logits per image but there are {classNames.Count} class names");
        var objective = target is int t
            ? CrossEntropyObjective.Targeted(model, full(new long[] { batch.Count }, t, dtype: ScalarType.Int64, device: device))
            : CrossEntropyObjective.Untargeted(model, predicted);
        // Each file's random start is keyed by its name, so it does not depend on the other files or the batch size.
        using var result = Pgd.Run(objective, images, threat, run with { ExampleIds = batch.Select(b => ExampleIds.OfName(b.Name)).ToArray(), Progress = null }, options);
        var onGrid = threat.OntoByteGrid(originals, result.Adversarial);

        var outputs = batch.Select(b => Path.Combine(staging, OutputName(b.Name))).ToList();
        for (int i = 0; i < batch.Count; i++) ImageFile.SavePng(onGrid[i], outputs[i]);
        // Every number below describes the files as written: reload them.
        var written = stack(outputs.Select(o => ImageFile.Load(o)).ToArray()).to(device);
        var (probabilities, adversarial) = Classify(model, written.to_type(dtype), batch.Select(b => b.Path));
        var (l2, linf, psnr) = Distances(originals, written);

        var rows = new List<FolderAttackRow>();
        for (int i = 0; i < batch.Count; i++)
        {
            int o = (int)predicted[i].item<long>(), a = (int)adversarial[i].item<long>();
            bool success = target is int goal ? a == goal : a != o;
            rows.Add(new FolderAttackRow(batch[i].Name, OutputName(batch[i].Name), classNames[o], cleanProbabilities[i, o].item<double>(),
                classNames[a], probabilities[i, a].item<double>(), success, l2[i], linf[i], psnr[i]));
        }
        return rows;
    }

    /// <summary>Softmax probabilities (float64) and top-1 classes, the model frozen in eval mode; non-finite logits are refused naming the files.</summary>
    static (Tensor Probabilities, Tensor Predicted) Classify(nn.Module<Tensor, Tensor> model, Tensor images, IEnumerable<string> files)
    {
        using var frozen = new FrozenParameters([model]);
        using var _ = no_grad();
        var logits = model.forward(images).to_type(ScalarType.Float64);
        if (!logits.isfinite().all().item<bool>())
            throw new ReproInputException($"the model's logits are not finite (NaN or infinity) for {string.Join(", ", files)}");
        return (softmax(logits, 1), logits.argmax(1));
    }

    /// <summary>L2, L-inf (in [0,1] units) and PSNR (dB) per example, exact from the byte offsets.</summary>
    static (double[] L2, double[] Linf, double[] Psnr) Distances(Tensor originals, Tensor written)
    {
        using var scope = NewDisposeScope();
        var d = ((written.to_type(ScalarType.Float64) * 255).round() - (originals.to_type(ScalarType.Float64) * 255).round()).flatten(1).cpu();
        var squares = d.pow(2).sum(1).data<double>().ToArray();
        var largest = d.abs().amax(1).data<double>().ToArray();
        long count = d.shape[1];
        return (squares.Select(s => Math.Sqrt(s) / 255).ToArray(), largest.Select(m => m / 255).ToArray(),
                squares.Select(s => s == 0 ? double.PositiveInfinity : 10 * Math.Log10(count * 255.0 * 255.0 / s)).ToArray());
    }
}
