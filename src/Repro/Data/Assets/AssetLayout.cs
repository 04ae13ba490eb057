namespace Repro.Data.Assets;

/// <summary>
/// How a verified download becomes what the loaders read, and where that lands under its root.
/// <see cref="Install"/> builds <see cref="Landing"/> inside a staging folder; the installer then moves
/// it into the root with one rename, so a reader sees either nothing or the complete asset.
/// Problems with the download's content are <see cref="InvalidDataException"/>s (the caller names
/// the asset, the URL or the file).
/// </summary>
internal abstract class AssetLayout
{
    /// <summary>The file or folder, relative to the root, that <see cref="Install"/> creates.</summary>
    public abstract string Landing { get; }

    /// <summary>How it unpacks and where it lands, in words.</summary>
    public abstract string Description { get; }

    /// <summary>The path a loader reads when the asset is installed under <paramref name="root"/>, else null.</summary>
    public virtual string? Find(string root)
    {
        string path = Path.Combine(root, Landing);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    /// <summary>Builds <c>target/</c><see cref="Landing"/> from the verified download (which it may move).</summary>
    public abstract void Install(string download, string target);
}

/// <summary>The download is the asset itself (a weights file): it lands as <see cref="Landing"/>.</summary>
internal sealed class SingleFileLayout(string landing) : AssetLayout
{
    public override string Landing => landing;
    public override string Description => $"used as it is: {landing}";

    public override string? Find(string root)
    {
        string path = Path.Combine(root, landing);
        return File.Exists(path) ? path : null;
    }

    public override void Install(string download, string target)
    {
        string destination = Path.Combine(target, landing);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.Move(download, destination);
    }
}
