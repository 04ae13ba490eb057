using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>One validation image: its file and its class index (from synset_words.txt, never folder order).</summary>
public sealed record ImageNetSample(string Path, int Label);

/// <summary>
/// ImageNet validation images in the standard <c>imagenet/val/&lt;wnid&gt;/*.JPEG</c> layout with
/// <c>imagenet/synset_words.txt</c>. Samples are listed in ordinal path order; images are loaded with
/// the torchvision evaluation transform (shorter side 256, centre crop 224, [0,1]) through
/// <see cref="ImageDecoder"/>: truncated or corrupt files are refused naming the file.
/// </summary>
public sealed class ImageNetValidation
{
    public ImageNetClasses Classes { get; }
    public IReadOnlyList<ImageNetSample> Samples { get; }

    ImageNetValidation(ImageNetClasses classes, IReadOnlyList<ImageNetSample> samples)
    {
        Classes = classes;
        Samples = samples;
    }

    public static ImageNetValidation Open(string dataRoot)
    {
        string root = Path.Combine(dataRoot, "imagenet");
        string val = Path.Combine(root, "val");
        if (!Directory.Exists(val))
            throw new ReproInputException($"ImageNet validation folder not found: {val} (expected val/<wnid>/*.JPEG and synset_words.txt under {root}; point {ReproPaths.DataVariable} at a data root that has them)");
        var classes = ImageNetClasses.Load(Path.Combine(root, "synset_words.txt"));
        var samples = new List<ImageNetSample>();
        foreach (var dir in Directory.EnumerateDirectories(val).Order(StringComparer.Ordinal))
        {
            string wnid = Path.GetFileName(dir);
            int label = classes.IndexOfWnid(wnid);
            if (label < 0) throw new ReproInputException($"{dir}: folder name '{wnid}' is not a wnid listed in synset_words.txt");
            // Dot-files and OS metadata (._x.JPEG, .DS_Store, Thumbs.db) are not validation images.
            foreach (var file in Directory.EnumerateFiles(dir).Where(f => !ImageFolder.IsOsMetadata(Path.GetFileName(f))).Order(StringComparer.Ordinal))
                samples.Add(new ImageNetSample(file, label));
        }
        if (samples.Count == 0) throw new ReproInputException($"no images under {val}");
        return new ImageNetValidation(classes, samples);
    }

    /// <summary>Loads the given samples as one batch [N,3,224,224] with their labels.</summary>
    public static LabelledImages Load(IReadOnlyList<ImageNetSample> samples, IReadOnlyList<string> classNames, int resize = 256, int crop = 224, ImageDecodeOptions? decode = null)
    {
        var images = new Tensor[samples.Count];
        try
        {
            ParallelLoad.For(samples.Count, i => images[i] = ImageFile.LoadResizedCentreCrop(samples[i].Path, resize, crop, decode));
            return new LabelledImages(stack(images), tensor(samples.Select(s => (long)s.Label).ToArray()), classNames);
        }
        finally
        {
            foreach (var t in images) t?.Dispose();
        }
    }
}
