namespace Repro.Data;

/// <summary>A folder entry that was not used, and why (OS metadata, not an image type, a sub-folder, unreadable...).</summary>
public sealed record SkippedFile(string Name, string Reason);

/// <summary>The image files of a folder (full paths, ordinal order) and every other entry with the reason it was skipped.</summary>
internal sealed record ImageFolderListing(IReadOnlyList<string> Images, IReadOnlyList<SkippedFile> Skipped);

/// <summary>
/// Lists the images of a user's folder the way a photo tool does: by extension
/// (<see cref="Extensions"/>, any case), top level only, skipping dot-files and the metadata that
/// operating systems leave beside photos (macOS <c>._*</c> AppleDouble companions, <c>.DS_Store</c>,
/// <c>__MACOSX/</c>; Windows <c>Thumbs.db</c>, <c>desktop.ini</c>), so a copied or unzipped folder of
/// photos works as it is. Every skipped entry is reported, never dropped silently.
/// </summary>
internal static class ImageFolder
{
    /// <summary>Extensions of the formats the decoder reads (SkiaSharp): JPEG, PNG, BMP, WebP, GIF (first frame).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".webp", ".gif"];

    static readonly HashSet<string> MetadataNames = new(StringComparer.OrdinalIgnoreCase)
        { "Thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", "Icon\r", "__MACOSX", "$RECYCLE.BIN", "System Volume Information" };

    /// <summary>Whether a file or folder name is a hidden dot-file or operating-system metadata rather than a user's photo.</summary>
    public static bool IsOsMetadata(string name) => name.StartsWith('.') || MetadataNames.Contains(name);

    /// <summary>Whether a file name has one of the <see cref="Extensions"/> (any case).</summary>
    public static bool HasImageExtension(string name) => Extensions.Contains(Path.GetExtension(name).ToLowerInvariant());

    /// <param name="folder">The folder to list (top level only).</param>
    /// <param name="folderSetting">What a message calls the folder's setting (the caller's parameter name).</param>
    /// <exception cref="ReproInputException">The folder is a file, does not exist or cannot be listed.</exception>
    public static ImageFolderListing List(string folder, string folderSetting = "folder")
    {
        if (File.Exists(folder)) throw new ReproInputException($"{folderSetting} {folder} is a file, not a folder");
        if (!Directory.Exists(folder)) throw new ReproInputException($"image folder not found: {folder}");
        string[] entries;
        try { entries = Directory.GetFileSystemEntries(folder); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ReproInputException($"cannot list image folder {folder}: {e.Message}", e);
        }
        var images = new List<string>();
        var skipped = new List<SkippedFile>();
        foreach (var entry in entries.Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(entry);
            bool isFolder = Directory.Exists(entry);
            if (IsOsMetadata(name)) skipped.Add(new SkippedFile(isFolder ? name + "/" : name, name.StartsWith('.') ? "hidden or OS metadata" : "OS metadata"));
            else if (isFolder) skipped.Add(new SkippedFile(name + "/", "folder (sub-folders are not searched)"));
            else if (!HasImageExtension(name)) skipped.Add(new SkippedFile(name, $"not an image type ({string.Join(" ", Extensions)})"));
            else images.Add(entry);
        }
        return new ImageFolderListing(images, skipped);
    }

    /// <summary>
    /// The OS metadata of a folder with one subfolder of images per class: metadata folders at the top
    /// (<c>__MACOSX/</c>, dot-folders) and metadata files at the top or inside a class subfolder
    /// (<c>cat/._0001.jpg</c>, <c>.DS_Store</c>), named relative to <paramref name="folder"/>; readers of
    /// such folders skip them.
    /// </summary>
    /// <exception cref="ReproInputException">The folder cannot be listed.</exception>
    public static IReadOnlyList<SkippedFile> ClassFolderMetadata(string folder)
    {
        var skipped = new List<SkippedFile>();
        try
        {
            foreach (var entry in Directory.GetFileSystemEntries(folder).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(entry);
                bool isFolder = Directory.Exists(entry);
                if (IsOsMetadata(name)) skipped.Add(new SkippedFile(isFolder ? name + "/" : name, name.StartsWith('.') ? "hidden or OS metadata" : "OS metadata"));
                else if (isFolder)
                    foreach (var inner in Directory.GetFileSystemEntries(entry).Order(StringComparer.Ordinal))
                        if (IsOsMetadata(Path.GetFileName(inner)))
                            skipped.Add(new SkippedFile($"{name}/{Path.GetFileName(inner)}{(Directory.Exists(inner) ? "/" : "")}", "hidden or OS metadata"));
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ReproInputException($"cannot list image folder {folder}: {e.Message}", e);
        }
        return skipped;
    }

    /// <summary>One line naming every skipped entry with its reason (names escaped as in <see cref="Tsv"/>, so it stays one line).</summary>
    public static string Summary(IReadOnlyList<SkippedFile> skipped) =>
        $"skipped {skipped.Count} {(skipped.Count == 1 ? "entry" : "entries")}: " +
        string.Join("; ", skipped.Select(s => $"{Tsv.Escape(s.Name)} ({Tsv.Escape(s.Reason)})"));
}
