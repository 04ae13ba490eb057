using Repro.Data;

namespace Repro.Models.Formats;

/// <summary>
/// The class names of a model's outputs, in output order, and how a class is named on the command
/// line: by index, or by name (for ImageNet-1k also by wnid or any synonym of synset_words.txt).
/// </summary>
public sealed class ClassLabels
{
    readonly ImageNetClasses? imageNet;

    ClassLabels(IReadOnlyList<string> names, string origin, ImageNetClasses? imageNet)
    {
        Names = names;
        Origin = origin;
        this.imageNet = imageNet;
    }

    /// <summary>The class names, in output order.</summary>
    public IReadOnlyList<string> Names { get; }
    /// <summary>Where the names come from ("labels.txt", "ImageNet synset_words.txt", "numbered").</summary>
    public string Origin { get; }
    /// <summary>The number of classes.</summary>
    public int Count => Names.Count;

    /// <summary>The 1,000 ImageNet names, resolvable also by wnid and synonyms (<see cref="ImageNetClasses.Resolve"/>).</summary>
    public static ClassLabels ImageNet(ImageNetClasses classes, string origin) => new(classes.Names, origin, classes);

    /// <summary>"class 0" .. "class <paramref name="count"/>-1", for a model without labels.</summary>
    public static ClassLabels Numbered(int count) => new(Enumerable.Range(0, count).Select(i => $"class {i}").ToArray(), "numbered (no labels)", null);

    /// <summary>The given names, in output order, with where they come from (<paramref name="origin"/>).</summary>
    public static ClassLabels Of(IReadOnlyList<string> names, string origin) => new(names, origin, null);

    /// <summary>One label per line; blank lines at the end are ignored. A missing file is named.</summary>
    public static IReadOnlyList<string> ReadFile(string path)
    {
        if (!File.Exists(path)) throw new ReproInputException($"labels file not found: {path}");
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0) throw new ReproInputException($"{path}: the labels file is empty");
        if (lines.Count > 1 << 20) throw new ReproInputException($"{path}: {lines.Count} labels is more than a classifier has");
        return lines;
    }

    /// <summary>Finds a class by index ("3"), name (a label line, or one of its comma-separated synonyms), or (ImageNet) wnid, or throws naming it.</summary>
    public int Resolve(string nameOrIndex)
    {
        if (int.TryParse(nameOrIndex, out int index))
        {
            if (index >= 0 && index < Count) return index;
            throw new ReproInputException($"class index {index} is out of range: the model has {Count} classes (0-{Count - 1})");
        }
        if (imageNet is not null) return imageNet.Resolve(nameOrIndex);
        for (int i = 0; i < Count; i++)
            if (string.Equals(Names[i], nameOrIndex, StringComparison.OrdinalIgnoreCase)
                || Names[i].Split(',').Any(n => string.Equals(n.Trim(), nameOrIndex, StringComparison.OrdinalIgnoreCase)))
                return i;
        throw new ReproInputException($"unknown class '{nameOrIndex}' (give an index 0-{Count - 1} or a name from the labels: {string.Join(", ", Names.Take(5))}{(Count > 5 ? ", ..." : "")})");
    }
}
