namespace Repro.Data;

/// <summary>
/// The 1,000 ILSVRC-2012 classes in standard index order, as in <c>synset_words.txt</c>
/// (line i = class i: "wnid name[, synonym...]"). Index 1 is goldfish. The standard list ships
/// with the product (<see cref="Standard"/>, an embedded copy of the public list Caffe and
/// torchvision's class index use), so attacking or classifying one's own photos needs no data set.
/// </summary>
public sealed class ImageNetClasses
{
    /// <summary>The WordNet id of each class ("n01443537"), by class index.</summary>
    public IReadOnlyList<string> Wnids { get; }
    /// <summary>The first name of each class ("goldfish"), as captions show it.</summary>
    public IReadOnlyList<string> Names { get; }
    /// <summary>Each class's full line after the wnid ("goldfish, Carassius auratus"), by class index.</summary>
    public IReadOnlyList<string> FullNames { get; }
    readonly Dictionary<string, int> _byWnid;

    ImageNetClasses(List<string> wnids, List<string> full)
    {
        Wnids = wnids;
        FullNames = full;
        Names = full.Select(f => f.Split(',')[0].Trim()).ToArray();
        _byWnid = wnids.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i);
    }

    /// <summary>The standard 1,000 classes, shipped inside the assembly (resource <c>Repro.Data.synset_words.txt</c>).</summary>
    public static ImageNetClasses Standard => standard.Value;

    static readonly Lazy<ImageNetClasses> standard = new(() =>
    {
        const string resource = "Repro.Data.synset_words.txt";
        using var stream = typeof(ImageNetClasses).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the build did not embed {resource}");
        using var reader = new StreamReader(stream);
        return Parse(ReadLines(reader), resource);
    });

    /// <summary>Reads a <c>synset_words.txt</c> file: 1,000 non-empty lines "wnid name[, synonym...]", in class-index order.</summary>
    /// <exception cref="ReproInputException">The file is missing, a line is not "wnid name", or it does not hold exactly 1,000 classes.</exception>
    public static ImageNetClasses Load(string synsetWordsPath)
    {
        if (!File.Exists(synsetWordsPath)) throw new ReproInputException($"ImageNet class list not found: {synsetWordsPath}");
        return Parse(File.ReadLines(synsetWordsPath), synsetWordsPath);
    }

    static IEnumerable<string> ReadLines(TextReader reader)
    {
        for (string? line = reader.ReadLine(); line != null; line = reader.ReadLine()) yield return line;
    }

    static ImageNetClasses Parse(IEnumerable<string> lines, string synsetWordsPath)
    {
        var wnids = new List<string>();
        var names = new List<string>();
        int lineNo = 0;
        foreach (var raw in lines)
        {
            lineNo++;
            string line = raw.Trim();
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || !line.StartsWith('n')) throw new ReproInputException($"{synsetWordsPath}:{lineNo}: expected 'wnid name', got '{line}'");
            wnids.Add(line[..space]);
            names.Add(line[(space + 1)..].Trim());
        }
        if (wnids.Count != 1000) throw new ReproInputException($"{synsetWordsPath}: expected 1000 classes, found {wnids.Count}");
        return new ImageNetClasses(wnids, names);
    }

    /// <summary>The class index of a wnid ("n01443537" is 1), or -1 when it is not one of the 1,000.</summary>
    public int IndexOfWnid(string wnid) => _byWnid.TryGetValue(wnid, out int i) ? i : -1;

    /// <summary>Finds a class by index ("1"), wnid ("n01443537") or name ("goldfish"), or throws naming it.</summary>
    public int Resolve(string nameOrIndex)
    {
        if (int.TryParse(nameOrIndex, out int index) && index >= 0 && index < Names.Count) return index;
        int byWnid = IndexOfWnid(nameOrIndex);
        if (byWnid >= 0) return byWnid;
        for (int i = 0; i < FullNames.Count; i++)
            if (FullNames[i].Split(',').Any(n => string.Equals(n.Trim(), nameOrIndex, StringComparison.OrdinalIgnoreCase))) return i;
        throw new ReproInputException($"unknown ImageNet class '{nameOrIndex}' (give an index 0-999, a wnid, or a name from synset_words.txt)");
    }
}
