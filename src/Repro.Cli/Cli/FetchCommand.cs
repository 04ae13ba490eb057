using System.CommandLine;
using Repro.Data;
using Repro.Data.Assets;

namespace Repro.Cli;

/// <summary>
/// <c>repro fetch [NAME...|all]</c>: downloads catalogue assets into their roots ahead of use
/// (progress bar on a terminal, verified, atomic); <c>repro fetch --list</c> shows each asset,
/// whether it is present, where, how big and how it is verified. <c>download</c> is an alias.
/// Exit codes: 0 all present, 2 unknown name or --offline, 4 a download failed (one line per failure).
/// </summary>
internal static class FetchCommand
{
    public static Command Create(GlobalOptions options)
    {
        var names = new Argument<string[]>("asset") { Description = $"all, or any of: {string.Join(", ", AssetCatalogue.Names)}", Arity = ArgumentArity.ZeroOrMore };
        var list = new Option<bool>("--list") { Description = "list every asset: present or missing, where, size, checksum, origin" };
        var command = new Command("fetch", "download data sets and weights from their publishers (or REPRO_MIRROR), checksum verified, into the data and model roots") { names, list };
        command.Aliases.Add("download");
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var paths = options.Paths(r);
            var wanted = r.GetValue(names) ?? [];
            if (r.GetValue(list) || wanted.Length == 0)
            {
                List(paths);
                return ReproCommand.Ok;
            }
            var assets = wanted.Any(n => n == "all") ? AssetCatalogue.All : wanted.Select(AssetCatalogue.Get).Distinct().ToList();
            if (options.IsOffline(r))
                throw new ReproInputException($"repro fetch needs the network, but --offline or {AssetFetchOptions.OfflineVariable}=1 is set");
            // What stopped fetches left (a killed process cannot clean up) goes first, named.
            foreach (var root in new[] { paths.DataRoot, paths.ModelRoot }.Distinct())
                foreach (var removed in AssetInstaller.RemoveLeftovers(root))
                    Console.Error.WriteLine($"repro: note: removed {removed}, left by a fetch that was stopped");
            using var fetcher = new AssetFetcher(AssetFetchOptions.FromEnvironment(), Console.Error) { Progress = TerminalProgress.Sink };
            var failures = new List<string>();
            foreach (var asset in assets)
            {
                string root = asset.RootIn(paths);
                string? present = asset.Find(root);
                if (present != null)
                {
                    Console.WriteLine($"{asset.Name}: present at {present}");
                    continue;
                }
                string placed = Path.Combine(root, asset.FileName);
                if (File.Exists(placed))
                {
                    Console.WriteLine($"{asset.Name}: {AssetInstaller.InstallPlaced(asset, placed, root, Console.Error)}");
                    continue;
                }
                Console.Error.WriteLine($"{asset.Name}: fetching ({asset.SizeText}) from {fetcher.Options.UrlFor(asset.Url)} into {root}");
                try { Console.WriteLine($"{asset.Name}: {fetcher.Fetch(asset, root)}"); }
                catch (ReproEnvironmentException e)
                {
                    Console.Error.WriteLine($"repro: {e.Message}");
                    failures.Add(asset.Name);
                }
            }
            if (failures.Count == 0) return ReproCommand.Ok;
            Console.Error.WriteLine($"repro: not fetched: {string.Join(", ", failures)}");
            return ExitCodes.EnvironmentFault;
        }));
        return command;
    }

    static void List(ReproPaths paths)
    {
        Console.WriteLine($"data root {paths.DataRoot}, model root {paths.ModelRoot} (cache {ReproPaths.CacheRoot()})");
        Console.WriteLine("asset\tstatus\tsize\twhere\tverification\torigin");
        foreach (var s in AssetCache.Statuses(paths))
        {
            string size = s.BytesOnDisk is long b ? Asset.FormatBytes(b) : s.Asset.SizeText;
            Console.WriteLine($"{s.Asset.Name}\t{(s.Present ? "present" : "missing")}\t{size}\t{s.Path ?? s.Root}\t{s.Verification}\t{s.Asset.Url}");
        }
        foreach (var root in new[] { paths.DataRoot, paths.ModelRoot }.Distinct())
            foreach (var left in AssetInstaller.Leftovers(root))
                Console.WriteLine($"leftover\tpartial\t{Asset.FormatBytes(FolderBytes(left))}\t{left}\tleft by a fetch that was stopped; the next fetch removes it\t-");
    }

    static long FolderBytes(string folder)
    {
        try { return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }
}
