using System.Buffers.Binary;
using System.Collections;
using System.Numerics;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// PyTorch's legacy serialisation (torch.save before 1.6, and later with
/// <c>_use_new_zipfile_serialization=False</c>): five pickles in a row — the magic number
/// 0x1950a86a20f9469cfc6c, the protocol version 1001, sys_info (byte order and C type sizes), the
/// object (storages as persistent ids), the list of storage keys — then, for each key in that
/// order, the storage's element count as a little-endian int64 followed by its raw bytes.
/// Source: torch/serialization.py (<c>_legacy_save</c>, <c>_legacy_load</c>) and
/// torch/csrc/generic/serialization.cpp (<c>THPStorage_writeFileRaw</c>).
/// </summary>
static class LegacyCheckpointReader
{
    static readonly BigInteger MagicNumber = BigInteger.Parse("119547037146038801333356"); // 0x1950a86a20f9469cfc6c
    const long ProtocolVersion = 1001;

    public static (object? Root, Dictionary<string, StorageReference> Storages) Read(Stream file)
    {
        var head = new PickleSequence(file);
        var magic = CheckpointUnpickler.Load(head.Next(), null);
        BigInteger? number = magic switch { BigInteger b => b, long l => l, int i => i, _ => null };
        if (number != MagicNumber)
            throw new CheckpointFormatException("a pickle, but not a PyTorch checkpoint (wrong magic number)");
        var protocol = CheckpointUnpickler.Load(head.Next(), null);
        if (protocol is not int and not long || System.Convert.ToInt64(protocol) != ProtocolVersion)
            throw new CheckpointFormatException($"legacy PyTorch protocol version {protocol ?? "None"} (only {ProtocolVersion} is known)");
        if (CheckpointUnpickler.Load(head.Next(), null) is not Hashtable sysInfo)
            throw new CheckpointFormatException("no sys_info record after the protocol version");
        if (sysInfo["little_endian"] is false)
            throw new CheckpointFormatException("written on a big-endian machine; only little-endian checkpoints are read");

        var storages = new Dictionary<string, StorageReference>();
        var root = CheckpointUnpickler.Load(head.Next(), storages);
        if (CheckpointUnpickler.Load(head.Next(), null) is not ArrayList keys || keys.Cast<object?>().Any(k => k is not string))
            throw new CheckpointFormatException("no list of storage keys after the object");

        file.Position = head.End;
        var seen = new HashSet<string>();
        Span<byte> count = stackalloc byte[8];
        foreach (string key in keys)
        {
            if (!storages.TryGetValue(key, out var storage))
                throw new CheckpointFormatException($"storage '{key}' is listed but no tensor uses it (its element type is unknown)");
            if (!seen.Add(key)) throw new CheckpointFormatException($"storage '{key}' is listed twice");
            try { file.ReadExactly(count); }
            catch (EndOfStreamException) { throw new CheckpointFormatException($"the file ends before storage '{key}' (truncated file)"); }
            long numel = BinaryPrimitives.ReadInt64LittleEndian(count);
            if (numel != storage.Numel)
                throw new CheckpointFormatException($"storage '{key}' holds {numel} elements in the file; the pickle declares {storage.Numel}");
            long left = file.Length - file.Position;
            if (numel > left / storage.Type.ElementSize)
                throw new CheckpointFormatException($"storage '{key}' declares {numel} x {storage.Type.ElementSize} bytes, more than the {left} bytes left in the file (truncated or crafted)");
            StorageBytes.Read(file, storage);
        }
        var missing = storages.Keys.FirstOrDefault(k => !seen.Contains(k));
        if (missing != null) throw new CheckpointFormatException($"storage '{missing}' is used but not in the file");
        return (root, storages);
    }

    /// <summary>
    /// The pickles at the start of the file, one at a time, each as exactly its bytes. Reads the
    /// file in growing windows (never more than is there) until the scanner finds each STOP.
    /// </summary>
    sealed class PickleSequence(Stream file)
    {
        byte[] window = [];
        int position;

        /// <summary>The file offset just past the last pickle returned.</summary>
        public long End => position;

        public byte[] Next()
        {
            while (true)
            {
                var scan = PickleScanner.Scan(window, position);
                if (scan.Complete)
                {
                    var pickle = window[position..scan.End];
                    position = scan.End;
                    return pickle;
                }
                if (window.Length >= file.Length) throw new CheckpointFormatException("the file ends inside a pickle (truncated file)");
                if (window.Length >= int.MaxValue / 2) throw new CheckpointFormatException("a pickle of more than 1 GB: not a checkpoint header");
                Grow((int)Math.Min(file.Length, Math.Max(64 * 1024, 4L * window.Length)));
            }
        }

        void Grow(int size)
        {
            var bigger = new byte[size];
            window.CopyTo(bigger, 0);
            file.Position = window.Length;
            file.ReadExactly(bigger, window.Length, size - window.Length);
            window = bigger;
        }
    }
}
