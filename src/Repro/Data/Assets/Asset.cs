namespace Repro.Data.Assets;

/// <summary>Which root an asset lands under: the data root (data sets) or the model root (weights).</summary>
internal enum AssetRoot { Data, Models }

/// <summary>
/// One external file the article or the suite uses, as its publisher distributes it: where it comes
/// from, how big it is, how it is verified, under which terms, how it unpacks and where it lands.
/// Entries live in <see cref="AssetCatalogue"/>; nothing else in the code knows a URL.
/// </summary>
internal sealed record Asset
{
    /// <summary>The name <c>repro fetch</c> takes ("cifar10").</summary>
    public required string Name { get; init; }
    /// <summary>What it is, in words.</summary>
    public required string Title { get; init; }
    /// <summary>The publisher's URL (a mirror, <c>REPRO_MIRROR</c>, maps it; the same checksums apply).</summary>
    public required string Url { get; init; }
    /// <summary>The download's file name: what a user without network places in the root instead of fetching.</summary>
    public required string FileName { get; init; }
    /// <summary>Download size in bytes as published, or null where it cannot be known offline.</summary>
    public long? Bytes { get; init; }
    /// <summary>The publisher's checksum of the download, or trust on first use.</summary>
    public required Checksum Checksum { get; init; }
    /// <summary>Licence or terms of use, in words.</summary>
    public required string Licence { get; init; }
    public required AssetRoot Root { get; init; }
    /// <summary>How the download unpacks and where the result lands under the root.</summary>
    public required AssetLayout Layout { get; init; }
    /// <summary>Which claims and commands use it.</summary>
    public required string UsedBy { get; init; }
    /// <summary>Anything a user should know about its provenance or verification.</summary>
    public string? Notes { get; init; }

    /// <summary>The root this asset lands under, of the given roots.</summary>
    public string RootIn(ReproPaths paths) => Root == AssetRoot.Data ? paths.DataRoot : paths.ModelRoot;

    /// <summary>The path a loader reads when the asset is installed under <paramref name="root"/>, else null.</summary>
    public string? Find(string root) => Layout.Find(root);

    /// <summary>"162.2 MB", or "size unknown until first download".</summary>
    public string SizeText => Bytes is long b ? FormatBytes(b) : "size not published";

    /// <summary>The host of <see cref="Url"/> ("www.cs.toronto.edu").</summary>
    public string Host => new Uri(Url).Host;

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F1} GB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):F1} KB",
        _ => $"{bytes} bytes",
    };
}
