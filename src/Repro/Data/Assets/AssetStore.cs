namespace Repro.Data.Assets;

/// <summary>
/// How loaders get an asset: present under its root, or installed from the publisher's file a user
/// placed there, or — only when a command has switched fetching on (<see cref="OnDemand"/>) —
/// downloaded now; otherwise a <see cref="MissingInputsException"/> that says what is missing and the
/// exact command or file that fixes it. Fetching is off by default, so the library and the tests
/// never touch the network; <c>repro run</c>, <c>eval</c> and <c>attack</c> switch it on unless
/// <c>--offline</c> / <c>REPRO_OFFLINE=1</c>.
/// </summary>
internal static class AssetStore
{
    /// <summary>The fetcher used for missing assets, or null: never download (the default).</summary>
    public static AssetFetcher? OnDemand { get; set; }

    /// <summary>Set when the user asked for no network, so that the reason says so.</summary>
    public static bool Offline { get; set; }

    /// <summary>Where installs and downloads report (stderr by default).</summary>
    public static TextWriter Log { get; set; } = Console.Error;

    /// <summary>The path loaders read for <paramref name="asset"/> under <paramref name="root"/>, making it present if it can.</summary>
    /// <exception cref="MissingInputsException">It is absent and could not be fetched.</exception>
    public static string Require(Asset asset, string root)
    {
        var failures = new List<string>();
        string? path = TryProvide(asset, root, failures);
        if (path != null) return path;
        throw Missing([(asset, root)], failures);
    }

    /// <summary>
    /// Makes every asset present under its root of <paramref name="paths"/> (fetching where allowed),
    /// or throws one exception naming all that are still missing and one command that gets them.
    /// </summary>
    /// <exception cref="MissingInputsException">Some are absent and could not be fetched.</exception>
    public static void Require(ReproPaths paths, IEnumerable<Asset> assets)
    {
        var failures = new List<string>();
        var missing = assets.Distinct().Select(a => (Asset: a, Root: a.RootIn(paths)))
            .Where(x => TryProvide(x.Asset, x.Root, failures) == null).ToList();
        if (missing.Count > 0) throw Missing(missing, failures);
    }

    static string? TryProvide(Asset asset, string root, List<string> failures)
    {
        string? path = asset.Find(root);
        if (path != null) return path;
        string placed = Path.Combine(root, asset.FileName);
        if (File.Exists(placed)) return AssetInstaller.InstallPlaced(asset, placed, root, Log);
        if (OnDemand == null) return null;
        // One attempt per asset and root in a run: the next claim that needs it is told at once.
        string key = $"{asset.Name}|{Path.GetFullPath(root)}";
        if (failed.TryGetValue(key, out string? earlier))
        {
            failures.Add(earlier);
            return null;
        }
        try { return OnDemand.Fetch(asset, root); }
        catch (ReproEnvironmentException e)
        {
            failed[key] = e.Message;
            failures.Add(e.Message);
            return null;
        }
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> failed = new();

    /// <summary>Forgets failed fetches (a new command invocation tries again).</summary>
    public static void ForgetFailures() => failed.Clear();

    /// <summary>The exception for assets that are absent: what, where, why not fetched, and the fix.</summary>
    public static MissingInputsException Missing(IReadOnlyList<(Asset Asset, string Root)> missing, IReadOnlyList<string>? failures = null)
    {
        string what = string.Join("; ", missing.Select(m => $"{m.Asset.Title} is not under {m.Root}"));
        string why = failures is { Count: > 0 } ? $" ({string.Join("; ", failures)})"
            : Offline ? " (offline: nothing is downloaded)" : "";
        return new MissingInputsException(what + why, Fix(missing)) { Assets = missing };
    }

    /// <summary>
    /// "run 'repro fetch cifar10 --data /x' (162.2 MB from www.cs.toronto.edu), or place
    /// cifar-10-binary.tar.gz from https://... in /x": the exact command for these roots, and the
    /// manual alternative for a machine without network.
    /// </summary>
    public static string Fix(IReadOnlyList<(Asset Asset, string Root)> missing)
    {
        var defaults = ReproPaths.Resolve();
        var options = new List<string>();
        foreach (var (asset, root) in missing)
        {
            bool data = asset.Root == AssetRoot.Data;
            string usual = data ? defaults.DataRoot : defaults.ModelRoot;
            string option = $"{(data ? "--data" : "--models")} {Quote(root)}";
            if (!SamePath(root, usual) && !options.Contains(option)) options.Add(option);
        }
        string command = $"repro fetch {string.Join(' ', missing.Select(m => m.Asset.Name).Distinct())}{string.Concat(options.Select(o => " " + o))}";
        string sizes = string.Join(", ", missing.Select(m => $"{m.Asset.FileName}: {m.Asset.SizeText} from {m.Asset.Host}"));
        string place = string.Join("; ", missing.Select(m => $"{m.Asset.FileName} from {m.Asset.Url} in {m.Root}" +
            (m.Asset.Layout.Landing == m.Asset.FileName ? "" : $" (or its unpacked form at {Path.Combine(m.Root, m.Asset.Layout.Landing)})")));
        return $"run '{command}' ({sizes}), or without network place {place} (or point {ReproPaths.DataVariable}/{ReproPaths.ModelVariable}, --data/--models, at roots that have them)";
    }

    static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);

    static string Quote(string path) => path.Contains(' ') ? $"\"{path}\"" : path;
}
