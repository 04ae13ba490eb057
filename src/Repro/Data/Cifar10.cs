using Repro.Data.Assets;
using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>Which CIFAR-10 split to load: the 50,000 training or the 10,000 test images.</summary>
public enum Split
{
    /// <summary>The training split (binary <c>data_batch_1..5.bin</c>, or <c>cifar10/train/</c>).</summary>
    Train,
    /// <summary>The test split (binary <c>test_batch.bin</c>, or <c>cifar10/test/</c>).</summary>
    Test,
}

/// <summary>
/// CIFAR-10 from either of its two layouts under the data root:
/// <list type="bullet">
/// <item>the original binary batches (<c>cifar-10-batches-bin/</c>, the catalogue's
/// <see cref="AssetCatalogue.Cifar10"/>: installed from <c>cifar-10-binary.tar.gz</c> placed in the root,
/// or fetched when fetching is on): records of one label byte then 3,072 pixel bytes, R, G, B planes of 32x32;</item>
/// <item>class folders <c>cifar10/{train,test}/{class}/*.jpg|png</c> (files in name order).</item>
/// </list>
/// The binary batches are preferred when present (they are the original pixels). When neither is
/// there, <see cref="MissingInputsException"/> says how to get them.
/// Labels are positions in the requested class list, so the caller states the order.
/// </summary>
public static class Cifar10
{
    /// <summary>The ten CIFAR-10 class names in the dataset's own label order (label byte 0..9).</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The article's binary task: label 0 = cat, label 1 = airplane.</summary>
    public static readonly IReadOnlyList<string> CatVsAirplane = ["cat", "airplane"];

    const int Side = 32, Pixels = 3 * Side * Side, RecordBytes = 1 + Pixels;

    /// <exception cref="MissingInputsException">Neither layout is under the data root and it could not be fetched.</exception>
    public static LabelledImages Load(string dataRoot, Split split, IReadOnlyList<string> classes)
    {
        foreach (var c in classes)
            if (!ClassNames.Contains(c)) throw new ReproInputException($"unknown CIFAR-10 class '{c}' (known: {string.Join(", ", ClassNames)})");

        string? binary = AssetCatalogue.Cifar10.Find(dataRoot);
        if (binary != null) return LoadBinary(binary, split, classes);
        string folders = Path.Combine(dataRoot, "cifar10", split == Split.Train ? "train" : "test");
        if (Directory.Exists(folders)) return LoadFolders(folders, classes);
        return LoadBinary(AssetStore.Require(AssetCatalogue.Cifar10, dataRoot), split, classes);
    }

    static LabelledImages LoadBinary(string folder, Split split, IReadOnlyList<string> classes)
    {
        var files = split == Split.Train
            ? Enumerable.Range(1, 5).Select(i => Path.Combine(folder, $"data_batch_{i}.bin"))
            : [Path.Combine(folder, "test_batch.bin")];
        var pixels = new List<float>();
        var labels = new List<long>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ReproInputException($"CIFAR-10 batch file missing: {file}");
            byte[] bytes = File.ReadAllBytes(file);
            if (bytes.Length % RecordBytes != 0)
                throw new ReproInputException($"{file} is not a CIFAR-10 binary batch: {bytes.Length} bytes is not a multiple of {RecordBytes}");
            for (int r = 0; r < bytes.Length; r += RecordBytes)
            {
                int label = bytes[r];
                if (label >= ClassNames.Count) throw new ReproInputException($"{file}: record {r / RecordBytes} has label {label}, not 0..9");
                int wanted = IndexOf(classes, ClassNames[label]);
                if (wanted < 0) continue;
                labels.Add(wanted);
                for (int i = 1; i <= Pixels; i++) pixels.Add(bytes[r + i] / 255f);
            }
        }
        return Build(pixels.ToArray(), labels.ToArray(), classes);
    }

    static LabelledImages LoadFolders(string splitFolder, IReadOnlyList<string> classes)
    {
        var items = new List<(string Path, long Label)>();
        for (int c = 0; c < classes.Count; c++)
        {
            string dir = Path.Combine(splitFolder, classes[c]);
            if (!Directory.Exists(dir)) throw new ReproInputException($"CIFAR-10 class folder missing: {dir}");
            foreach (var f in Directory.EnumerateFiles(dir).Where(f => IsImage(f) && !ImageFolder.IsOsMetadata(Path.GetFileName(f))).Order(StringComparer.Ordinal))
                items.Add((f, c));
        }
        var pixels = new float[items.Count * Pixels];
        ParallelLoad.For(items.Count, i =>
        {
            using var img = ImageFile.Load(items[i].Path);
            if (img.shape[1] != Side || img.shape[2] != Side)
                throw new ReproInputException($"{items[i].Path} is {img.shape[2]}x{img.shape[1]}, not a 32x32 CIFAR-10 image");
            img.data<float>().CopyTo(pixels, i * Pixels);
        });
        return Build(pixels, items.Select(i => i.Label).ToArray(), classes);
    }

    static bool IsImage(string path) =>
        path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".png", StringComparison.OrdinalIgnoreCase);

    static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return -1;
    }

    static LabelledImages Build(float[] pixels, long[] labels, IReadOnlyList<string> classes) =>
        new(tensor(pixels, new long[] { labels.Length, 3, Side, Side }), tensor(labels), classes.ToArray());
}
