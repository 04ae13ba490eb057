using Repro.Data.Assets;
using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>One validation image: its file and its class index (from the standard class list, never folder order).</summary>
public sealed record ImageNetSample(string Path, int Label);

/// <summary>
/// ImageNet validation images in the standard <c>imagenet/val/&lt;wnid&gt;/*.JPEG</c> layout under the
/// data root (the catalogue's <see cref="AssetCatalogue.ImageNetValidation"/>, or any images in that
/// layout). Class indices come from the standard class list that ships with the product
/// (<see cref="ImageNetClasses.Standard"/>), never from folder order. Samples are listed in ordinal
/// path order; images are loaded with the torchvision evaluation transform (shorter side 256, centre
/// crop 224, [0,1]) through <see cref="ImageDecoder"/>: truncated or corrupt files are refused naming the file.
/// </summary>
internal sealed class ImageNetValidation
{
    public ImageNetClasses Classes { get; }
    public IReadOnlyList<ImageNetSample> Samples { get; }

    ImageNetValidation(ImageNetClasses classes, IReadOnlyList<ImageNetSample> samples)
    {
        Classes = classes;
        Samples = samples;
    }

    /// <summary>Whether validation images are under the data root (without fetching).</summary>
    public static bool IsPresent(string dataRoot) => AssetCatalogue.ImageNetValidation.Find(dataRoot) != null;

    /// <exception cref="MissingInputsException">No images under the data root, and they could not be fetched.</exception>
    public static ImageNetValidation Open(string dataRoot)
    {
        string val = AssetCatalogue.ImageNetValidation.Find(dataRoot) ?? AssetStore.Require(AssetCatalogue.ImageNetValidation, dataRoot);
        var classes = ImageNetClasses.Standard;
        var samples = new List<ImageNetSample>();
        foreach (var dir in Directory.EnumerateDirectories(val).Order(StringComparer.Ordinal))
        {
            string wnid = Path.GetFileName(dir);
            int label = classes.IndexOfWnid(wnid);
            if (label < 0) throw new ReproInputException($"{dir}: folder name '{wnid}' is not an ImageNet-1k wnid");
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
