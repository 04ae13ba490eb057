using Repro.Report;

namespace Repro.Data.Assets;

/// <summary>
/// Turns a downloaded or placed file into an installed asset, atomically: the checksum is verified
/// (or, without a published one, compared with the sha256 recorded on first download), the layout
/// is built in a hidden staging folder beside the destination, and one rename puts it in place;
/// then the install record is written. Whatever fails, the staging folder is removed and the root
/// is left as it was.
/// </summary>
internal static class AssetInstaller
{
    const string StagingPrefix = ".fetch-";

    /// <summary>
    /// A fresh hidden staging folder under the root, named <c>.fetch-ASSET-PID-GUID</c> and registered with
    /// <see cref="StagingFolders"/> (so Ctrl-C or SIGTERM removes it); first, the staging folders of fetches
    /// that were stopped (<see cref="Leftovers"/>) are removed, whatever asset they were for.
    /// </summary>
    /// <exception cref="ReproEnvironmentException">The root cannot be created or written.</exception>
    public static string CreateStaging(Asset asset, string root)
    {
        try
        {
            Directory.CreateDirectory(root);
            RemoveLeftovers(root);
            string staging = Path.Combine(root, $"{StagingPrefix}{asset.Name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            StagingFolders.Add(staging, null);
            return staging;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReproEnvironmentException($"cannot write {asset.Name} under {root} ({e.Message})", e);
        }
    }

    /// <summary>Removes a staging folder of <see cref="CreateStaging"/> (whatever is in it, partial downloads included) and forgets it.</summary>
    public static void RemoveStaging(string staging)
    {
        TryDelete(staging);
        if (!Directory.Exists(staging)) StagingFolders.Forget(staging);
    }

    /// <summary>
    /// The staging folders under <paramref name="root"/> that a stopped fetch left (a killed process cannot
    /// clean up): those whose process (the PID in the name) is no longer running, and, for names without a
    /// PID (earlier versions), those untouched for an hour. A running fetch's folder is never one.
    /// </summary>
    public static IReadOnlyList<string> Leftovers(string root)
    {
        if (!Directory.Exists(root)) return [];
        var stale = new List<string>();
        try
        {
            foreach (var folder in Directory.EnumerateDirectories(root, $"{StagingPrefix}*"))
            {
                var match = System.Text.RegularExpressions.Regex.Match(Path.GetFileName(folder), @"-([0-9]+)-[0-9a-f]{32}$");
                bool stopped = match.Success
                    ? !IsRunning(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
                    : Directory.GetLastWriteTimeUtc(folder) < DateTime.UtcNow.AddHours(-1);
                if (stopped) stale.Add(folder);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return stale.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Removes <see cref="Leftovers"/> under <paramref name="root"/>; returns the ones removed.</summary>
    public static IReadOnlyList<string> RemoveLeftovers(string root)
    {
        var removed = new List<string>();
        foreach (var folder in Leftovers(root))
        {
            TryDelete(folder);
            if (!Directory.Exists(folder)) removed.Add(folder);
        }
        return removed;
    }

    /// <summary>Whether a process of this id runs now (this process counts; a PID reused since only keeps a folder a while longer).</summary>
    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return false; }
    }

    /// <summary>Removes a folder recursively if it exists, ignoring I/O and permission errors.</summary>
    public static void TryDelete(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Verifies <paramref name="file"/> and installs the asset from it under <paramref name="root"/>,
    /// building it inside <paramref name="staging"/>; returns the path loaders read.
    /// </summary>
    /// <param name="asset">The catalogue entry being installed.</param>
    /// <param name="file">The downloaded or placed file.</param>
    /// <param name="root">The root the asset is installed under.</param>
    /// <param name="staging">A staging folder under <paramref name="root"/> (<see cref="CreateStaging"/>); the caller removes it.</param>
    /// <param name="source">Where the file came from (URL or path), for the record and messages.</param>
    /// <param name="log">Receives one line naming the bytes, source, verification and install path.</param>
    /// <exception cref="InvalidDataException">The checksum does not match, the recorded first-download
    /// sha256 differs, or the content does not unpack as the layout expects.</exception>
    public static string Install(Asset asset, string file, string root, string staging, string source, TextWriter log)
    {
        var digests = FileDigests.Of(file);
        var previous = AssetCache.ReadRecord(asset, root);
        string verified;
        if (asset.Checksum.IsKnown)
        {
            if (!asset.Checksum.Matches(digests))
                throw new InvalidDataException($"its {asset.Checksum.KindName} is {asset.Checksum.Actual(digests)}, not the publisher's {asset.Checksum.Digest}");
            verified = $"publisher's {asset.Checksum.KindName}";
        }
        else
        {
            if (previous != null && previous.Sha256 != digests.Sha256)
                throw new InvalidDataException($"its sha256 is {digests.Sha256}, but the first download ({previous.Installed:yyyy-MM-dd}, from {previous.Source}) had {previous.Sha256}: the published file changed or this one is not it (delete {AssetCache.RecordPath(asset, root)} to trust the new file)");
            verified = "recorded on first download";
        }

        string target = Path.Combine(staging, "install");
        Directory.CreateDirectory(target);
        asset.Layout.Install(file, target);
        string destination = Path.Combine(root, asset.Layout.Landing);
        string? installed = asset.Find(root);
        if (installed == null)
        {
            if (File.Exists(destination) || Directory.Exists(destination))
                throw new InvalidDataException($"{destination} exists but is not a complete {asset.Name}: remove it and fetch again");
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            string built = Path.Combine(target, asset.Layout.Landing);
            if (Directory.Exists(built)) Directory.Move(built, destination); else File.Move(built, destination);
            installed = asset.Find(root) ?? throw new InvalidDataException($"installed {destination} but it is not readable as {asset.Name}");
        }

        var record = new AssetRecord(asset.Name, source, digests.Bytes, digests.Sha256, digests.Md5, verified, DateTimeOffset.UtcNow);
        AssetCache.WriteRecord(asset, root, record);
        string trust = asset.Checksum.IsKnown
            ? $"{asset.Checksum.KindName} {asset.Checksum.Actual(digests)} verified"
            : previous != null ? $"sha256 {digests.Sha256} matches the first download" : $"sha256 {digests.Sha256} recorded on first download (no published checksum)";
        log.WriteLine($"{asset.Name}: {digests.Bytes:N0} bytes from {source}, {trust}; installed at {installed}");
        return installed;
    }

    /// <summary>
    /// Installs an asset from the publisher's file that a user placed in the root (e.g.
    /// <c>cifar-10-binary.tar.gz</c> copied from another machine). The placed file is kept.
    /// </summary>
    /// <exception cref="ReproInputException">The placed file is not the publisher's, naming it.</exception>
    public static string InstallPlaced(Asset asset, string placed, string root, TextWriter log)
    {
        string staging = CreateStaging(asset, root);
        try
        {
            return Install(asset, placed, root, staging, placed, log);
        }
        catch (InvalidDataException e)
        {
            throw new ReproInputException($"{placed}: {e.Message} (expected the file from {asset.Url}); nothing was installed", e);
        }
        finally
        {
            RemoveStaging(staging);
        }
    }
}
