using static TorchSharp.torch;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// A tensor as a checkpoint describes it: a view of a storage with a storage offset, sizes and
/// strides, all counted in elements (PyTorch's <c>_rebuild_tensor_v2(storage, storage_offset,
/// size, stride, requires_grad, backward_hooks)</c>). It becomes a TorchSharp tensor only after
/// the storage's bytes are read, and only if the view stays inside the storage.
/// </summary>
sealed class TensorRecipe(StorageReference storage, long offset, long[] size, long[] stride, bool isParameter)
{
    /// <summary>More dimensions than any model uses; a crafted file could declare thousands.</summary>
    public const int MaxDimensions = 64;

    public StorageReference Storage { get; } = storage;
    public long Offset { get; } = offset;
    public long[] Size { get; } = size;
    public long[] Stride { get; } = stride;
    /// <summary>Saved as an <c>nn.Parameter</c> (the reader returns plain tensors either way).</summary>
    public bool IsParameter { get; set; } = isParameter;

    /// <summary>The view, sharing the storage's memory (two views of one storage share it as in PyTorch).</summary>
    public Tensor Materialise()
    {
        var data = Storage.Data ?? throw new CheckpointFormatException($"storage '{Storage.Key}' was never read");
        CheckInside();
        return data.as_strided(Size, Stride, Offset);
    }

    /// <summary>Refuses any view that would reach outside its storage (a crafted file, never PyTorch's output).</summary>
    void CheckInside()
    {
        if (Size.Length > MaxDimensions)
            throw new CheckpointFormatException($"a tensor of storage '{Storage.Key}' has {Size.Length} dimensions (at most {MaxDimensions} are read)");
        if (Size.Length != Stride.Length)
            throw new CheckpointFormatException($"a tensor of storage '{Storage.Key}' has {Size.Length} sizes but {Stride.Length} strides");
        if (Offset < 0 || Size.Any(s => s < 0) || Stride.Any(s => s < 0))
            throw new CheckpointFormatException($"a tensor of storage '{Storage.Key}' has a negative size, stride or offset");
        if (Size.Any(s => s == 0)) return; // empty: touches nothing
        long last = Offset;
        try
        {
            for (int i = 0; i < Size.Length; i++) last = checked(last + (Size[i] - 1) * Stride[i]);
        }
        catch (OverflowException)
        {
            throw new CheckpointFormatException($"a tensor of storage '{Storage.Key}' has sizes and strides that overflow");
        }
        if (last >= Storage.Numel)
            throw new CheckpointFormatException(
                $"a tensor [{string.Join(",", Size)}] (strides [{string.Join(",", Stride)}], offset {Offset}) reaches element {last} of storage '{Storage.Key}', which holds {Storage.Numel}");
    }
}
