using System.Formats.Tar;
using System.IO.Compression;

namespace Repro.Data.Assets;

/// <summary>A .tar.gz holding one folder (CIFAR-10's <c>cifar-10-batches-bin/</c>): the folder lands under the root.</summary>
/// <param name="folder">The archive's top folder, which lands as it is.</param>
/// <param name="marker">A file inside it whose presence means the asset is installed.</param>
internal sealed class TarGzFolderLayout(string folder, string marker) : AssetLayout
{
    public override string Landing => folder;
    public override string Description => $"tar.gz, its {folder}/ lands under the root";

    public override string? Find(string root)
    {
        string path = Path.Combine(root, folder);
        return File.Exists(Path.Combine(path, marker)) ? path : null;
    }

    public override void Install(string download, string target)
    {
        Directory.CreateDirectory(target);
        Archives.Read(download, () =>
        {
            using var gz = new GZipStream(File.OpenRead(download), CompressionMode.Decompress);
            TarFile.ExtractToDirectory(gz, target, overwriteFiles: false);
        });
        if (!File.Exists(Path.Combine(target, folder, marker)))
            throw new InvalidDataException($"the archive has no {folder}/{marker}");
    }
}

/// <summary>
/// A .tar.gz from which one member is kept (the TensorFlow Lite archive's <c>.tflite</c>; its
/// checkpoints and frozen graphs are not needed). The member's sha256 must be one of the known ones.
/// </summary>
/// <param name="member">The member's file name (any folder inside the archive).</param>
/// <param name="landing">Where it lands, relative to the root.</param>
/// <param name="knownSha256">Accepted sha256 of the member, each with where that digest comes from.</param>
internal sealed class TarGzMemberLayout(string member, string landing, IReadOnlyDictionary<string, string> knownSha256) : AssetLayout
{
    public IReadOnlyDictionary<string, string> KnownSha256 => knownSha256;
    public override string Landing => landing;
    public override string Description => $"tar.gz, only its {member} is kept, as {landing} (its sha256 is checked: {string.Join("; ", knownSha256.Select(k => $"{k.Key} = {k.Value}"))})";

    public override string? Find(string root)
    {
        string path = Path.Combine(root, landing);
        return File.Exists(path) ? path : null;
    }

    public override void Install(string download, string target)
    {
        string destination = Path.Combine(target, landing);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        bool found = false;
        Archives.Read(download, () =>
        {
            using var gz = new GZipStream(File.OpenRead(download), CompressionMode.Decompress);
            using var reader = new TarReader(gz);
            for (var entry = reader.GetNextEntry(); entry != null && !found; entry = reader.GetNextEntry())
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                if (Path.GetFileName(entry.Name.TrimEnd('/')) != member) continue;
                entry.ExtractToFile(destination, overwrite: false);
                found = true;
            }
        });
        if (!found) throw new InvalidDataException($"the archive has no {member}");
        string sha = FileDigests.Of(destination).Sha256;
        if (knownSha256.Count > 0 && !knownSha256.ContainsKey(sha))
            throw new InvalidDataException($"its {member} has sha256 {sha}, not a known one ({string.Join(", ", knownSha256.Keys)})");
    }
}

/// <summary>
/// A .zip unpacked as a whole into one folder (the tutorial's bundle). If the zip has a single top
/// folder of that name it becomes the folder; otherwise the zip's contents go into it.
/// </summary>
/// <param name="folder">Where it lands, relative to the root.</param>
/// <param name="marker">The file a loader reads, searched anywhere inside the folder.</param>
internal sealed class ZipFolderLayout(string folder, string marker) : AssetLayout
{
    public override string Landing => folder;
    public override string Description => $"zip, unpacked into {folder}/ (the file read from it: {marker}, wherever it is inside)";

    public override string? Find(string root)
    {
        string path = Path.Combine(root, folder);
        if (!Directory.Exists(path)) return null;
        return Directory.EnumerateFiles(path, marker, SearchOption.AllDirectories).Order(StringComparer.Ordinal).FirstOrDefault();
    }

    public override void Install(string download, string target)
    {
        string unpacked = Path.Combine(target, ".unpacked");
        Archives.Read(download, () => ZipFile.ExtractToDirectory(download, unpacked));
        string top = Path.Combine(unpacked, folder);
        bool single = Directory.Exists(top) && Directory.GetFileSystemEntries(unpacked).Length == 1;
        Directory.Move(single ? top : unpacked, Path.Combine(target, folder));
        if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
        if (Find(target) == null) throw new InvalidDataException($"the archive has no {marker}");
    }
}

/// <summary>Reading archives: format errors become <see cref="InvalidDataException"/>s that say so.</summary>
static class Archives
{
    public static void Read(string archive, Action read)
    {
        try { read(); }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"{Path.GetFileName(archive)} is not a readable archive ({e.Message})", e);
        }
    }
}
