using System.IO.Compression;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// PyTorch's zip serialisation (torch.save since 1.6): an archive whose entries sit under one
/// folder (the file's stem): <c>data.pkl</c> (the object, with persistent ids for storages),
/// <c>data/&lt;key&gt;</c> (each storage's raw bytes), <c>version</c>, and since 2.1
/// <c>byteorder</c> ("little" or "big"). Source: torch/serialization.py (<c>_save</c>, <c>_load</c>)
/// and caffe2/serialize/inline_container.cc.
/// </summary>
static class ZipCheckpointReader
{
    public static (object? Root, Dictionary<string, StorageReference> Storages) Read(Stream file)
    {
        long fileLength = file.Length;
        using var archive = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        var pickles = archive.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
        if (archive.Entries.Any(e => e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal)) && archive.Entries.Any(e => e.FullName.Contains("/code/")))
            throw new CheckpointFormatException("a TorchScript archive (torch.jit.save), not a checkpoint written by torch.save");
        if (pickles.Count != 1)
            throw new CheckpointFormatException(pickles.Count == 0 ? "a zip archive without a <name>/data.pkl record: not a PyTorch checkpoint" : "a zip archive with several data.pkl records");
        string prefix = pickles[0].FullName[..^"data.pkl".Length];

        var byteOrder = archive.GetEntry(prefix + "byteorder");
        if (byteOrder != null)
        {
            string order = System.Text.Encoding.ASCII.GetString(ReadAll(byteOrder, fileLength)).Trim();
            if (order != "little")
                throw new CheckpointFormatException($"written on a {order}-endian machine (byteorder record '{order}'); only little-endian checkpoints are read");
        }

        var storages = new Dictionary<string, StorageReference>();
        var root = CheckpointUnpickler.Load(ReadAll(pickles[0], fileLength), storages);
        foreach (var storage in storages.Values)
        {
            var entry = archive.GetEntry(prefix + "data/" + storage.Key)
                ?? throw new CheckpointFormatException($"storage '{storage.Key}' has no record {prefix}data/{storage.Key}");
            if (entry.Length != storage.ByteCount)
                throw new CheckpointFormatException($"record {entry.FullName} holds {entry.Length} bytes; the pickle declares {storage.Numel} x {storage.Type.Name} = {storage.ByteCount} bytes");
            CheckAgainstFile(entry, fileLength);
            using var stream = entry.Open();
            StorageBytes.Read(stream, storage);
        }
        return (root, storages);
    }

    /// <summary>A record's sizes come from the archive's directory: check them against the file before allocating.</summary>
    static void CheckAgainstFile(ZipArchiveEntry entry, long fileLength)
    {
        if (entry.Length > fileLength || entry.CompressedLength > fileLength)
            throw new CheckpointFormatException($"record {entry.FullName} declares {entry.Length} bytes, more than the whole file ({fileLength}): truncated or crafted");
    }

    static byte[] ReadAll(ZipArchiveEntry entry, long fileLength)
    {
        CheckAgainstFile(entry, fileLength);
        var bytes = new byte[entry.Length];
        using var stream = entry.Open();
        try { stream.ReadExactly(bytes); }
        catch (EndOfStreamException) { throw new CheckpointFormatException($"record {entry.FullName} is shorter than declared (truncated file)"); }
        return bytes;
    }
}
