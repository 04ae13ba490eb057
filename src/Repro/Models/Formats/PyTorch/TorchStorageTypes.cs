using Razorvine.Pickle;
using static TorchSharp.torch;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// A storage class named in a checkpoint (<c>torch.FloatStorage</c>, ...): what the pickle's
/// persistent ids carry to say which element type a storage holds. It is a marker, never
/// constructed: a pickle that tries to call it is refused.
/// </summary>
sealed class TorchStorageType(string name, ScalarType dtype, int elementSize) : IObjectConstructor
{
    public string Name { get; } = name;
    public ScalarType Dtype { get; } = dtype;
    public int ElementSize { get; } = elementSize;

    public object construct(object[] args) =>
        throw new CheckpointFormatException($"the pickle calls {Name}(...); storages are only ever referenced through persistent ids");
}

/// <summary>The storage classes PyTorch writes, by their global name (CPU and the CUDA names of pre-1.6 files).</summary>
static class TorchStorageTypes
{
    // First: the initialisers below read it (static fields initialise in textual order).
    static readonly string[] TorchModules = ["torch", "torch.cuda"];

    static readonly (string Name, ScalarType Dtype, int Size)[] Known =
    [
        ("FloatStorage", ScalarType.Float32, 4),
        ("DoubleStorage", ScalarType.Float64, 8),
        ("HalfStorage", ScalarType.Float16, 2),
        ("BFloat16Storage", ScalarType.BFloat16, 2),
        ("LongStorage", ScalarType.Int64, 8),
        ("IntStorage", ScalarType.Int32, 4),
        ("ShortStorage", ScalarType.Int16, 2),
        ("CharStorage", ScalarType.Int8, 1),
        ("ByteStorage", ScalarType.Byte, 1),
        ("BoolStorage", ScalarType.Bool, 1),
        ("ComplexFloatStorage", ScalarType.ComplexFloat32, 8),
        ("ComplexDoubleStorage", ScalarType.ComplexFloat64, 16),
    ];

    /// <summary>"torch.FloatStorage" (and "torch.cuda.FloatStorage") to its marker.</summary>
    public static IEnumerable<KeyValuePair<string, IObjectConstructor>> Globals() =>
        Known.SelectMany(k => TorchModules.Select(module =>
            new KeyValuePair<string, IObjectConstructor>($"{module}.{k.Name}", new TorchStorageType($"{module}.{k.Name}", k.Dtype, k.Size))));
}
