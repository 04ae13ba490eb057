using System.Security.Cryptography;
using System.Text;
using Repro.Attacks;
using Repro.Data;
using Repro.Models.Formats;
using static TorchSharp.torch;

namespace Repro.Evaluation;

/// <summary>How an image file is brought to the model's input size H x W. Under every policy an image that already has that size is used as it is.</summary>
public enum ImageResize
{
    /// <summary>torchvision's evaluation crop: shorter side to size·256/224, centre crop of the input size (right for ImageNet photos). The default.</summary>
    Crop,
    /// <summary>No resizing: an image of another size is refused, naming the file.</summary>
    None,
    /// <summary>Resized to exactly H x W (bilinear, as PIL), the aspect ratio not kept.</summary>
    Fit,
}

/// <summary>One example of an evaluation's listing: its id (keys its random numbers and its shard), where it comes from, and its label.</summary>
/// <param name="Id">Dataset index, or the hash of the file's path relative to the folder (<see cref="ExampleIds.OfName"/>).</param>
/// <param name="Source">"cifar10/test/123", or the file's path relative to its folder ("cat/001.png").</param>
/// <param name="Label">Index into the model's class names.</param>
public sealed record EvaluationExample(long Id, string Source, int Label);

/// <summary>
/// The examples of an evaluation, listed before any image is decoded: the listing (position, id,
/// source, label) is cheap and the same on every shard, and <see cref="Load"/> decodes only the
/// positions a batch needs. Sources: a folder with one subfolder per class (named by the model's class
/// names; the same file policy as <c>repro attack</c>, <see cref="ImageFolder"/>), the committed CIFAR
/// models' CIFAR-10 split, or ImageNet's validation images for the built-in ImageNet models.
/// </summary>
public sealed class EvaluationImages
{
    readonly Func<IReadOnlyList<int>, Tensor> load;

    EvaluationImages(IReadOnlyList<EvaluationExample> examples, string description, Func<IReadOnlyList<int>, Tensor> load)
    {
        Examples = examples;
        Description = description;
        this.load = load;
        var listing = new StringBuilder();
        foreach (var e in examples) listing.Append(e.Id).Append('\t').Append(e.Source).Append('\t').Append(e.Label).Append('\n');
        Identity = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
        if (examples.Select(e => e.Id).Distinct().Count() != examples.Count)
            throw new ReproInputException($"two examples of {description} have the same id: ids must be unique (rename one of the files)");
    }

    /// <summary>The listing, in order: position i is the i-th example (the first positions are the sanity sample).</summary>
    public IReadOnlyList<EvaluationExample> Examples { get; }
    /// <summary>Where the images came from and how they are sized, in words, for the output and the manifest.</summary>
    public string Description { get; }
    /// <summary>SHA-256 (hex) of the listing (id, source, label per line): two runs with the same identity evaluate the same examples.</summary>
    public string Identity { get; }
    /// <summary>The number of examples.</summary>
    public int Count => Examples.Count;

    /// <summary>The images at <paramref name="positions"/> of the listing: float32 [B,3,H,W] in [0,1].</summary>
    /// <exception cref="ReproInputException">A file cannot be decoded; or (a <see cref="ReproArgumentException"/> for <c>resize</c>) it does not have the model's size under <see cref="ImageResize.None"/>, or a non-square model under <see cref="ImageResize.Crop"/>.</exception>
    public Tensor Load(IReadOnlyList<int> positions) => load(positions);

    /// <summary>The labels at <paramref name="positions"/>: int64 [B].</summary>
    public Tensor Labels(IReadOnlyList<int> positions) => tensor(positions.Select(p => (long)Examples[p].Label).ToArray());

    /// <summary>
    /// The first <paramref name="n"/> examples, class-balanced (the first image of every class, then
    /// the second of every class, ...), of: a folder with one subfolder per class
    /// (<paramref name="folder"/>: subfolders named by the model's class names; ids are hashes of the
    /// relative file paths), else the committed CIFAR models' CIFAR-10 <paramref name="split"/> (test or
    /// train, ids are indices in the split), else ImageNet's validation images for a 1,000-class
    /// built-in model (ids are hashes of the relative file paths).
    /// </summary>
    /// <param name="model">The model: its class names, input size and name decide the default data.</param>
    /// <param name="folder">A folder with one subfolder of images per class (named by the model's class names), or null.</param>
    /// <param name="split">The model's own data split, or null for the default.</param>
    /// <param name="n">How many examples, at least 1.</param>
    /// <param name="resize">How files are brought to the model's input size.</param>
    /// <param name="paths">Where the data sets are.</param>
    /// <exception cref="ReproArgumentException">Bad <paramref name="folder"/> or <paramref name="split"/> (both given; a model file without a folder).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is below 1.</exception>
    public static EvaluationImages List(LoadedModel model, string? folder, string? split, int n, ImageResize resize, ReproPaths paths)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), $"the number of images must be >= 1, got {n}");
        if (folder is not null && split is not null) throw new ReproArgumentException(nameof(split), "give a folder of images or a split of the model's own data, not both");
        if (folder is not null) return FromFolder(model, folder, n, resize);
        if (ModelSource.CifarNames.Contains(model.Name))
        {
            var which = (split ?? "test").ToLowerInvariant() switch
            {
                "test" => Split.Test,
                "train" => Split.Train,
                var other => throw new ReproArgumentException(nameof(split), $"CIFAR-10 has test and train, not '{other}'"),
            };
            string name = which.ToString().ToLowerInvariant();
            var all = new Lazy<LabelledImages>(() => Cifar10.Load(paths.DataRoot, which, Cifar10.CatVsAirplane));
            var labels = all.Value.Labels.data<long>().ToArray();
            var picked = Balanced(Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToList()).ToList(), n).Order().ToList();
            return new EvaluationImages(picked.Select(i => new EvaluationExample(i, $"cifar10/{name}/{i}", (int)labels[i])).ToList(),
                $"CIFAR-10 cat vs airplane {name} split, {picked.Count} images (the first {(picked.Count + 1) / 2} of each class), used as they are (32x32)",
                positions =>
                {
                    using var index = tensor(positions.Select(p => (long)picked[p]).ToArray());
                    return all.Value.Images.index_select(0, index);
                });
        }
        if (model.Format != ModelFormat.Registry)
            throw new ReproArgumentException(nameof(folder), $"{model.Name} is a model file; give a folder of images with one subfolder per class");
        if (split is not null && !split.Equals("val", StringComparison.OrdinalIgnoreCase)) throw new ReproArgumentException(nameof(split), $"ImageNet models are evaluated on val, not '{split}'");
        var validation = ImageNetValidation.Open(paths.DataRoot);
        var samples = Balanced(validation.Samples.GroupBy(s => s.Label).OrderBy(g => g.Key).Select(g => g.ToList()).ToList(), n);
        string root = Path.Combine(paths.DataRoot, "imagenet");
        var files = samples.Select(s => (s.Path, s.Label)).ToList();
        return Files(model, files, root, resize, $"ImageNet validation images under {root}, {samples.Count} images (class-balanced)");
    }

    static EvaluationImages FromFolder(LoadedModel model, string folder, int n, ImageResize resize)
    {
        if (File.Exists(folder)) throw new ReproArgumentException(nameof(folder), $"{folder} is a file, not a folder");
        if (!Directory.Exists(folder)) throw new ReproArgumentException(nameof(folder), $"folder not found: {folder}");
        var names = model.Classes.Names;
        var classes = new List<List<(string File, int Label)>>();
        foreach (var dir in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            if (ImageFolder.IsOsMetadata(name)) continue;
            int label = names.ToList().FindIndex(c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
            if (label < 0) throw new ReproArgumentException(nameof(folder), $"subfolder '{name}' of {folder} is not a class of {model.Name} (classes: {string.Join(", ", names.Take(10))}{(names.Count > 10 ? ", ..." : "")}; name the model's classes with ModelImportOptions.LabelsPath)");
            var files = ImageFolder.List(dir).Images.Select(f => (f, label)).ToList();
            if (files.Count > 0) classes.Add(files);
        }
        if (classes.Count == 0) throw new ReproArgumentException(nameof(folder), $"no class subfolders with images ({string.Join(" ", ImageFolder.Extensions)}) in {folder}");
        return Files(model, Balanced(classes, n), folder, resize, $"{Math.Min(n, classes.Sum(c => c.Count))} images from {folder} (class-balanced)");
    }

    static EvaluationImages Files(LoadedModel model, IReadOnlyList<(string File, int Label)> files, string root, ImageResize resize, string description)
    {
        var (c, h, w) = model.Input;
        // A file is decoded as RGB; a one-channel model gets its luma (PIL's convert("L")) after the resize.
        if (c != 1 && c != 3) throw new ReproInputException($"{model.Name} takes {c}-channel images; image files load as RGB (3 channels) or grey (1)");
        string policy = resize switch
        {
            ImageResize.Crop => $"torchvision's evaluation crop to {w}x{h} (shorter side {h * 256 / 224}, centre crop)",
            ImageResize.Fit => $"resized to {w}x{h} (aspect ratio not kept)",
            _ => $"used as they are (must be {w}x{h})",
        };
        var examples = files.Select(f =>
        {
            string relative = Path.GetRelativePath(root, f.File).Replace('\\', '/');
            return new EvaluationExample(ExampleIds.OfName(relative), relative, f.Label);
        }).ToList();
        return new EvaluationImages(examples, $"{description}; images {policy}, those already {w}x{h} used as they are{(c == 1 ? "; grey (PIL's luma)" : "")}", positions =>
        {
            var images = new Tensor[positions.Count];
            try
            {
                ParallelLoad.For(positions.Count, i => images[i] = LoadFile(files[positions[i]].File, c, h, w, resize));
                return stack(images);
            }
            finally
            {
                foreach (var t in images) t?.Dispose();
            }
        });
    }

    /// <summary>One file as [<paramref name="c"/>,H,W] in [0,1] (c: 1 or 3) under <paramref name="resize"/>; an image already <paramref name="w"/> x <paramref name="h"/> as it is.</summary>
    static Tensor LoadFile(string file, int c, int h, int w, ImageResize resize)
    {
        var image = ImageDecoder.Decode(file).Image;
        if (image.Width == w && image.Height == h) return image.ToTensor(c);
        return resize switch
        {
            ImageResize.Crop when h == w => EvaluationTransform.ResizeCentreCrop(image, h * 256 / 224, h).ToTensor(c),
            ImageResize.Crop => throw new ReproArgumentException(nameof(resize), $"the evaluation crop is square, the model takes {w}x{h}; use ImageResize.Fit"),
            ImageResize.Fit => PilBilinear.ResizeWindow(image, w, h, 0, 0, w, h).ToTensor(c),
            _ => throw new ReproArgumentException(nameof(resize), $"{file} is {image.Width}x{image.Height}, the model takes {w}x{h} (ImageResize.None resizes nothing)"),
        };
    }

    /// <summary>Round robin over the classes: the first item of each, then the second of each, ..., until <paramref name="n"/> (or all) are taken.</summary>
    static List<T> Balanced<T>(List<List<T>> perClass, int n)
    {
        var picked = new List<T>();
        for (int i = 0; picked.Count < n && perClass.Any(c => i < c.Count); i++)
            foreach (var c in perClass)
                if (i < c.Count && picked.Count < n) picked.Add(c[i]);
        return picked;
    }
}
