using static TorchSharp.torch;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// Reads a storage's raw little-endian bytes from a stream straight into a new 1-d CPU tensor.
/// The caller has already checked the byte count against the bytes left in the file, so a
/// declared size never causes an allocation the file cannot back.
/// </summary>
static class StorageBytes
{
    /// <summary>Chunk size: <c>Tensor.bytes</c> is a span, so at most int.MaxValue bytes at a time.</summary>
    const long Chunk = 1L << 28;

    public static void Read(Stream stream, StorageReference storage)
    {
        // bool is read as bytes and checked: any byte but 0 or 1 would be an invalid bool to libtorch
        bool isBool = storage.Type.Dtype == ScalarType.Bool;
        var data = empty(storage.Numel, isBool ? ScalarType.Byte : storage.Type.Dtype).DetachFromDisposeScope();
        try
        {
            long elementsPerChunk = Chunk / storage.Type.ElementSize;
            for (long start = 0; start < storage.Numel; start += elementsPerChunk)
            {
                long count = Math.Min(elementsPerChunk, storage.Numel - start);
                using var part = data.narrow(0, start, count);
                try
                {
                    stream.ReadExactly(part.bytes);
                }
                catch (EndOfStreamException)
                {
                    throw new CheckpointFormatException($"the file ends inside storage '{storage.Key}' (truncated file)");
                }
            }
            if (isBool)
            {
                using (NewDisposeScope())
                    if (data.gt(1).any().item<bool>()) throw new CheckpointFormatException($"bool storage '{storage.Key}' holds bytes other than 0 and 1");
                var bools = data.to_type(ScalarType.Bool).DetachFromDisposeScope();
                data.Dispose();
                data = bools;
            }
        }
        catch
        {
            data.Dispose();
            throw;
        }
        storage.Data = data;
    }
}
