using System.Text.Json;

namespace Repro.Data.Assets;

/// <summary>
/// What was installed, from where, with which digests: written beside the assets of a root
/// (<c>.repro-assets/&lt;name&gt;.json</c>) when an asset is installed. For an asset without a
/// published checksum this is the trust-on-first-use record: a later download must have the same sha256.
/// </summary>
/// <param name="Name">The catalogue name of the asset.</param>
/// <param name="Source">The URL it was downloaded from (after the mirror), or the placed file it was installed from.</param>
/// <param name="Verified">"publisher's MD5", "publisher's sha256 prefix", or "recorded on first download".</param>
/// <param name="Bytes">The size of the downloaded or placed file, in bytes.</param>
/// <param name="Sha256">The file's sha256, lower-case hex.</param>
/// <param name="Md5">The file's MD5, lower-case hex.</param>
/// <param name="Installed">When it was installed (UTC).</param>
internal sealed record AssetRecord(string Name, string Source, long Bytes, string Sha256, string Md5, string Verified, DateTimeOffset Installed);

/// <summary>Whether one asset is installed under its root, where, how big, and its install record.</summary>
internal sealed record AssetStatus(Asset Asset, string Root, string? Path, long? BytesOnDisk, AssetRecord? Record)
{
    /// <summary>Whether the asset was found under its root (<c>Path</c> is set).</summary>
    public bool Present => Path != null;

    /// <summary>How the asset was (or will be) verified, in words, with the recorded sha256 for trust on first use.</summary>
    public string Verification => Asset.Checksum.IsKnown
        ? $"{Asset.Checksum} (publisher's)"
        : Record is { } r ? $"sha256 {r.Sha256} recorded on first download ({r.Installed:yyyy-MM-dd}; no published checksum)"
        : Present ? "placed here, not fetched by repro: no download record"
        : "no published checksum: sha256 recorded on first download";
}

/// <summary>
/// The install records of a root and the status of every catalogue entry under given roots. The
/// default roots are the per-user cache (<see cref="ReproPaths.CacheRoot"/>).
/// </summary>
internal static class AssetCache
{
    const string RecordFolder = ".repro-assets";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Where the install record of <paramref name="asset"/> lives under <paramref name="root"/>: <c>.repro-assets/&lt;name&gt;.json</c>.</summary>
    public static string RecordPath(Asset asset, string root) => Path.Combine(root, RecordFolder, asset.Name + ".json");

    /// <summary>The install record, or null when there is none or it cannot be read.</summary>
    public static AssetRecord? ReadRecord(Asset asset, string root)
    {
        string path = RecordPath(asset, root);
        try { return File.Exists(path) ? JsonSerializer.Deserialize<AssetRecord>(File.ReadAllText(path), Json) : null; }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Writes the install record as indented JSON at <see cref="RecordPath"/>, atomically.</summary>
    public static void WriteRecord(Asset asset, string root, AssetRecord record) =>
        AtomicFile.WriteAllText(RecordPath(asset, root), JsonSerializer.Serialize(record, Json));

    /// <summary>Whether <paramref name="asset"/> is installed under its root in <paramref name="paths"/>, with its size on disk and install record.</summary>
    public static AssetStatus Status(Asset asset, ReproPaths paths)
    {
        string root = asset.RootIn(paths);
        string? path = asset.Find(root);
        return new AssetStatus(asset, root, path, path == null ? null : SizeOnDisk(path), ReadRecord(asset, root));
    }

    /// <summary>The status of every <see cref="AssetCatalogue.All"/> entry under its root in <paramref name="paths"/>.</summary>
    public static IReadOnlyList<AssetStatus> Statuses(ReproPaths paths) => AssetCatalogue.All.Select(a => Status(a, paths)).ToList();

    static long SizeOnDisk(string path)
    {
        try
        {
            if (File.Exists(path)) return new FileInfo(path).Length;
            return new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }
}
