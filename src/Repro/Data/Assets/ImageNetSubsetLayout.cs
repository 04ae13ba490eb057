using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Repro.Data.Assets;

/// <summary>
/// A zip holding ILSVRC-2012 validation images in one flat folder with a list of
/// "<c>./data/NAME.JPEG, label</c>" lines (0-based standard class index), as VeriSilicon's
/// acuity-dataset publishes its 1,300-image subset. The images land in the standard layout
/// <c>imagenet/val/&lt;wnid&gt;/NAME.JPEG</c> (wnid from <see cref="ImageNetClasses.Standard"/>).
/// The archive itself can only be trusted on first use, but its content is checked: the
/// <see cref="TreeDigest(string)"/> of what lands must equal the one measured from the publisher's
/// repository, so every image and its class are verified.
/// </summary>
/// <param name="listFile">The list's path inside the zip, after the zip's top folder.</param>
/// <param name="contentDigest">sha256 of the sorted "wnid/NAME sha256" lines of all images.</param>
/// <param name="count">Number of images.</param>
internal sealed class ImageNetSubsetLayout(string listFile, string contentDigest, int count) : AssetLayout
{
    public string ContentDigest => contentDigest;
    public int Count => count;
    public override string Landing => Path.Combine("imagenet", "val");
    public override string Description =>
        $"zip; the {count} images listed in {listFile} land as imagenet/val/<wnid>/<file> (content digest {contentDigest})";

    public override string? Find(string root)
    {
        string path = Path.Combine(root, Landing);
        return Directory.Exists(path) && Directory.EnumerateDirectories(path).Any() ? path : null;
    }

    public override void Install(string download, string target)
    {
        var classes = ImageNetClasses.Standard;
        string val = Path.Combine(target, Landing);
        Archives.Read(download, () =>
        {
            using var zip = ZipFile.OpenRead(download);
            var list = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/" + listFile, StringComparison.Ordinal) || e.FullName == listFile)
                ?? throw new InvalidDataException($"the archive has no {listFile}");
            string prefix = list.FullName[..^Path.GetFileName(listFile).Length];
            using var reader = new StreamReader(list.Open());
            int lineNo = 0;
            for (string? line = reader.ReadLine(); line != null; line = reader.ReadLine())
            {
                lineNo++;
                if (line.Trim().Length == 0) continue;
                var parts = line.Split(',');
                if (parts.Length != 2 || !int.TryParse(parts[1].Trim(), out int label) || label < 0 || label >= classes.Wnids.Count)
                    throw new InvalidDataException($"{listFile}:{lineNo}: expected './data/NAME.JPEG, label', got '{line}'");
                string relative = parts[0].Trim().TrimStart('.', '/');
                var entry = zip.GetEntry(prefix + relative) ?? throw new InvalidDataException($"{listFile}:{lineNo}: {relative} is not in the archive");
                string destination = Path.Combine(val, classes.Wnids[label], Path.GetFileName(relative));
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                entry.ExtractToFile(destination, overwrite: false);
            }
        });
        var (digest, images) = TreeDigest(val);
        if (images != count || digest != contentDigest)
            throw new InvalidDataException($"its images are not the published ones: {images} images with content digest {digest}, expected {count} with {contentDigest}");
    }

    /// <summary>
    /// sha256 (hex) of the lines "<c>wnid/NAME sha256-of-file</c>", sorted ordinally and each ended by
    /// a newline, over every file of <c>val/&lt;wnid&gt;/</c>; and the number of files.
    /// </summary>
    public static (string Digest, int Files) TreeDigest(string valFolder)
    {
        var lines = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(valFolder))
            foreach (var file in Directory.EnumerateFiles(dir))
                lines.Add($"{Path.GetFileName(dir)}/{Path.GetFileName(file)} {FileDigests.Of(file).Sha256}");
        lines.Sort(StringComparer.Ordinal);
        var text = string.Concat(lines.Select(l => l + "\n"));
        return (Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), lines.Count);
    }
}
