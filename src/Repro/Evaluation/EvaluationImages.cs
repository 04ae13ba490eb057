using Repro.Attacks;
using Repro.Data;
using static TorchSharp.torch;

namespace Repro.Evaluation;

/// <summary>Images to evaluate on, their labels, one stable id per image (it keys the image's random numbers) and where they came from.</summary>
public sealed class EvaluationImages(Tensor images, Tensor labels, long[] ids, string description) : IDisposable
{
    /// <summary>The images, float32 [N,3,H,W] in [0,1].</summary>
    public Tensor Images { get; } = images;
    /// <summary>The labels, int64 [N]: indices into the model's class names.</summary>
    public Tensor Labels { get; } = labels;
    /// <summary>One stable id per image (dataset index or hash of the relative path), keying its random numbers.</summary>
    public long[] Ids { get; } = ids;
    /// <summary>Where the images came from, in words, for the report.</summary>
    public string Description { get; } = description;
    /// <summary>The number of images N.</summary>
    public long Count => Images.shape[0];

    /// <summary>Disposes <see cref="Images"/> and <see cref="Labels"/>.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }

    /// <summary>
    /// The first <paramref name="n"/> images, class-balanced (the first image of every class, then
    /// the second of every class, ...), of: a folder with one subfolder per class
    /// (<paramref name="folder"/>: subfolders named by the model's class names; ids are hashes of the
    /// relative file paths), else the model's own data set's <paramref name="split"/> (CIFAR-10 cat vs
    /// airplane: test or train, ids are indices in the split; ImageNet: val, ids are hashes of the
    /// relative file paths).
    /// </summary>
    public static EvaluationImages Load(EvaluatedModel model, string? folder, string? split, int n, ReproPaths paths)
    {
        if (n < 1) throw new ReproInputException($"--n must be >= 1, got {n}");
        if (folder is not null && split is not null) throw new ReproInputException("give --images or --split, not both");
        if (folder is not null) return FromFolder(model, folder, n);
        if (model.Kind == ImageKind.Cifar)
        {
            var which = (split ?? "test").ToLowerInvariant() switch
            {
                "test" => Split.Test,
                "train" => Split.Train,
                var other => throw new ReproInputException($"--split: CIFAR-10 has test and train, not '{other}'"),
            };
            using var all = Cifar10.Load(paths.DataRoot, which, Cifar10.CatVsAirplane);
            var labels = all.Labels.data<long>().ToArray();
            var picked = Balanced(Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToList()).ToList(), n).Order().ToList();
            using var index = tensor(picked.Select(i => (long)i).ToArray());
            return new EvaluationImages(all.Images.index_select(0, index), all.Labels.index_select(0, index), picked.Select(i => (long)i).ToArray(),
                $"CIFAR-10 cat vs airplane {which.ToString().ToLowerInvariant()} split, {picked.Count} images (the first {(picked.Count + 1) / 2} of each class)");
        }
        if (split is not null && !split.Equals("val", StringComparison.OrdinalIgnoreCase)) throw new ReproInputException($"--split: ImageNet models are evaluated on val, not '{split}'");
        var validation = ImageNetValidation.Open(paths.DataRoot);
        var samples = Balanced(validation.Samples.GroupBy(s => s.Label).OrderBy(g => g.Key).Select(g => g.ToList()).ToList(), n);
        var set = ImageNetValidation.Load(samples, validation.Classes.Names);
        string root = Path.Combine(paths.DataRoot, "imagenet");
        return new EvaluationImages(set.Images, set.Labels, samples.Select(s => ExampleIds.OfName(Path.GetRelativePath(root, s.Path).Replace('\\', '/'))).ToArray(),
            $"ImageNet validation images under {root}, {samples.Count} images (class-balanced)");
    }

    static EvaluationImages FromFolder(EvaluatedModel model, string folder, int n)
    {
        if (!Directory.Exists(folder)) throw new ReproInputException($"--images: folder not found: {folder}");
        string[] extensions = [".jpg", ".jpeg", ".png", ".bmp", ".webp"];
        var classes = new List<List<(string File, int Label)>>();
        // OS metadata (__MACOSX/, ._* companions, dot-files) is skipped, as ImageFolder does; the command names it.
        foreach (var dir in Directory.EnumerateDirectories(folder).Where(d => !ImageFolder.IsOsMetadata(Path.GetFileName(d))).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            int label = model.ClassNames.ToList().FindIndex(c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
            if (label < 0) throw new ReproInputException($"--images: subfolder '{name}' of {folder} is not a class of {model.Name} (classes: {string.Join(", ", model.ClassNames.Take(10))}{(model.ClassNames.Count > 10 ? ", ..." : "")})");
            var files = Directory.EnumerateFiles(dir).Where(f => !ImageFolder.IsOsMetadata(Path.GetFileName(f)) && extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).Select(f => (f, label)).ToList();
            if (files.Count > 0) classes.Add(files);
        }
        if (classes.Count == 0) throw new ReproInputException($"--images: no class subfolders with images ({string.Join(", ", extensions)}) in {folder}");
        var picked = Balanced(classes, n);
        var images = new Tensor[picked.Count];
        try
        {
            ParallelLoad.For(picked.Count, i =>
            {
                images[i] = model.Kind == ImageKind.ImageNet ? ImageFile.LoadResizedCentreCrop(picked[i].File) : ImageFile.Load(picked[i].File);
                if (model.Kind == ImageKind.Cifar && (images[i].shape[1] != 32 || images[i].shape[2] != 32))
                    throw new ReproInputException($"--images: {picked[i].File} is {images[i].shape[2]}x{images[i].shape[1]}, the CIFAR models take 32x32 images");
            });
            return new EvaluationImages(stack(images), tensor(picked.Select(p => (long)p.Label).ToArray()),
                picked.Select(p => ExampleIds.OfName(Path.GetRelativePath(folder, p.File).Replace('\\', '/'))).ToArray(),
                $"{picked.Count} images from {folder} (class-balanced)");
        }
        finally
        {
            foreach (var t in images) t?.Dispose();
        }
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
