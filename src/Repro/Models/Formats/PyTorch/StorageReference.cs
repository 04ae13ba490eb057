using static TorchSharp.torch;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// One storage of a checkpoint as its pickle names it (persistent id <c>('storage', type, key,
/// location, numel)</c>): the element type and count it declares, and, once the reader has read
/// its bytes from the file, the 1-d tensor that holds them. Tensors are views into it.
/// </summary>
sealed class StorageReference(string key, TorchStorageType type, long numel, string location)
{
    public string Key { get; } = key;
    public TorchStorageType Type { get; } = type;
    public long Numel { get; } = numel;
    /// <summary>Where it was saved from ("cpu", "cuda:0"); everything is read onto the CPU.</summary>
    public string Location { get; } = location;
    public Tensor? Data { get; set; }

    public long ByteCount => checked(Numel * Type.ElementSize);
}
