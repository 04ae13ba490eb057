using System.Buffers.Binary;
using static TorchSharp.torch;
using OnnxProto = global::Onnx;
using DataType = global::Onnx.TensorProto.Types.DataType;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// ONNX TensorProto (initialisers, Constant values) to torch tensors on the CPU. Floating types
/// (float32, float16, bfloat16, float64) become float32, the network's arithmetic; integer types and
/// bool become int64 (shape arithmetic) and bool. The element count is computed from the declared
/// dims with overflow checks and compared with the bytes actually present before anything is
/// allocated, so a crafted size cannot make the importer allocate more than the file holds.
/// External data (weights in a separate file) is read only from files inside the model's folder.
/// </summary>
internal static class OnnxTensors
{
    /// <summary>At most 2^31 elements in one tensor (8 GB of float32).</summary>
    public const long MaxElements = 1L << 31;

    public static readonly DataType[] Supported =
    [
        DataType.Float, DataType.Float16, DataType.Bfloat16, DataType.Double,
        DataType.Int64, DataType.Int32, DataType.Int16, DataType.Int8, DataType.Uint8, DataType.Uint16, DataType.Uint32, DataType.Bool,
    ];

    /// <summary>The tensor as a CPU tensor of its dims: float32 for floating types, int64 for integer types, bool for bool.</summary>
    /// <param name="t">The TensorProto (an initialiser or a Constant's value).</param>
    /// <param name="source">The model file, for messages.</param>
    /// <param name="what">Names the tensor in errors (e.g. "initialiser 'conv1.weight'").</param>
    /// <param name="folder">The model file's folder, where external data must live; null refuses external data.</param>
    /// <exception cref="ReproInputException">An unsupported data type, a segment, sizes that overflow or disagree with the data present, or external data outside <paramref name="folder"/>.</exception>
    public static Tensor ToTorch(OnnxProto.TensorProto t, string source, string what, string? folder)
    {
        var type = (DataType)t.DataType;
        if (!Supported.Contains(type))
            throw new ReproInputException($"{source}: {what} has data type {Name(type)}, which the importer does not support (supported: {string.Join(", ", Supported.Select(Name))})");
        if (t.Segment != null) throw new ReproInputException($"{source}: {what} is a segment of a larger tensor, which the importer does not support");
        long[] dims = t.Dims.ToArray();
        long count = ElementCount(dims, source, what);

        ReadOnlySpan<byte> raw = default;
        bool hasRaw = false;
        if (t.DataLocation == OnnxProto.TensorProto.Types.DataLocation.External)
        {
            raw = ExternalData(t, count * ElementSize(type), source, what, folder);
            hasRaw = true;
        }
        else if (!t.RawData.IsEmpty)
        {
            raw = t.RawData.Span;
            hasRaw = true;
        }

        if (hasRaw)
        {
            long expected = count * ElementSize(type);
            if (raw.Length != expected)
                throw new ReproInputException($"{source}: {what} [{string.Join(",", dims)}] {Name(type)} needs {expected} bytes of data but holds {raw.Length} (truncated or corrupt)");
            return FromRaw(raw, type, dims, count);
        }
        return FromTyped(t, type, dims, count, source, what);
    }

    public static string Name(DataType type) => Enum.IsDefined(type) ? type.ToString().ToUpperInvariant() : $"data type {(int)type}";

    /// <summary>The product of the dims, refusing negative dims and products past <see cref="MaxElements"/>.</summary>
    public static long ElementCount(IReadOnlyList<long> dims, string source, string what)
    {
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new ReproInputException($"{source}: {what} declares a negative dimension {d}");
            if (d != 0 && count > MaxElements / d)
                throw new ReproInputException($"{source}: {what} declares [{string.Join(",", dims)}], more than {MaxElements} elements");
            count *= d;
        }
        return count;
    }

    static int ElementSize(DataType type) => type switch
    {
        DataType.Double or DataType.Int64 => 8,
        DataType.Float or DataType.Int32 or DataType.Uint32 => 4,
        DataType.Float16 or DataType.Bfloat16 or DataType.Int16 or DataType.Uint16 => 2,
        _ => 1,
    };

    static Tensor FromRaw(ReadOnlySpan<byte> raw, DataType type, long[] dims, long count)
    {
        switch (type)
        {
            case DataType.Float:
                {
                    var values = new float[count];
                    for (long i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(int)(4 * i)..]);
                    return tensor(values, dims);
                }
            case DataType.Double:
                {
                    var values = new float[count];
                    for (long i = 0; i < count; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(int)(8 * i)..]);
                    return tensor(values, dims);
                }
            case DataType.Float16:
            case DataType.Bfloat16:
                {
                    var values = new float[count];
                    for (long i = 0; i < count; i++) values[i] = HalfBits(BinaryPrimitives.ReadUInt16LittleEndian(raw[(int)(2 * i)..]), type);
                    return tensor(values, dims);
                }
            case DataType.Bool:
                {
                    var values = new bool[count];
                    for (long i = 0; i < count; i++) values[i] = raw[(int)i] != 0;
                    return tensor(values, dims);
                }
            default:
                {
                    var values = new long[count];
                    for (long i = 0; i < count; i++)
                    {
                        var at = raw[(int)(ElementSize(type) * i)..];
                        values[i] = type switch
                        {
                            DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(at),
                            DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(at),
                            DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(at),
                            DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(at),
                            DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(at),
                            DataType.Int8 => (sbyte)at[0],
                            _ => at[0],
                        };
                    }
                    return tensor(values, dims);
                }
        }
    }

    /// <summary>The typed repeated fields: float_data, double_data, int64_data, and int32_data (which also carries the 16- and 8-bit types and bool).</summary>
    static Tensor FromTyped(OnnxProto.TensorProto t, DataType type, long[] dims, long count, string source, string what)
    {
        int available = type switch
        {
            DataType.Float => t.FloatData.Count,
            DataType.Double => t.DoubleData.Count,
            DataType.Int64 => t.Int64Data.Count,
            DataType.Uint32 => t.Uint64Data.Count,
            _ => t.Int32Data.Count,
        };
        if (available != count)
            throw new ReproInputException($"{source}: {what} [{string.Join(",", dims)}] {Name(type)} needs {count} values but holds {available} (truncated or corrupt)");
        switch (type)
        {
            case DataType.Float: return tensor(t.FloatData.ToArray(), dims);
            case DataType.Double: return tensor(t.DoubleData.Select(d => (float)d).ToArray(), dims);
            case DataType.Int64: return tensor(t.Int64Data.ToArray(), dims);
            case DataType.Uint32: return tensor(t.Uint64Data.Select(v => (long)v).ToArray(), dims);
            case DataType.Float16:
            case DataType.Bfloat16: return tensor(t.Int32Data.Select(v => HalfBits((ushort)v, type)).ToArray(), dims);
            case DataType.Bool: return tensor(t.Int32Data.Select(v => v != 0).ToArray(), dims);
            default: return tensor(t.Int32Data.Select(v => (long)v).ToArray(), dims);
        }
    }

    static float HalfBits(ushort bits, DataType type) =>
        type == DataType.Bfloat16 ? BitConverter.Int32BitsToSingle(bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>
    /// Reads external data: "location" must be a relative path that stays inside the model's folder
    /// (no rooted path, no "..", no link leading out), and offset + length must lie inside that file.
    /// </summary>
    static byte[] ExternalData(OnnxProto.TensorProto t, long expected, string source, string what, string? folder)
    {
        if (folder is null) throw new ReproInputException($"{source}: {what} keeps its data in an external file, which is not allowed here");
        string? location = null;
        long offset = 0, length = -1;
        foreach (var entry in t.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset":
                    if (!long.TryParse(entry.Value, out offset) || offset < 0)
                        throw new ReproInputException($"{source}: {what}: external data offset '{entry.Value}' is not a non-negative integer");
                    break;
                case "length":
                    if (!long.TryParse(entry.Value, out length) || length < 0)
                        throw new ReproInputException($"{source}: {what}: external data length '{entry.Value}' is not a non-negative integer");
                    break;
            }
        }
        if (string.IsNullOrEmpty(location)) throw new ReproInputException($"{source}: {what}: external data without a location");
        string root = Path.GetFullPath(folder);
        string path = Path.GetFullPath(Path.Combine(root, location));
        bool escapes = Path.IsPathRooted(location) || location.Split('/', '\\').Contains("..")
            || !path.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (escapes) throw new ReproInputException($"{source}: {what}: external data location '{location}' points outside the model's folder {root}; refused");
        var file = new FileInfo(path);
        if (!file.Exists) throw new ReproInputException($"{source}: {what}: external data file not found: {path}");
        if (file.LinkTarget is not null)
        {
            string target = Path.GetFullPath(file.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path);
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new ReproInputException($"{source}: {what}: external data file {path} is a link to {target}, outside the model's folder; refused");
        }
        if (length >= 0 && length != expected)
            throw new ReproInputException($"{source}: {what}: external data length {length} does not match the {expected} bytes its shape needs");
        if (offset > file.Length || expected > file.Length - offset)
            throw new ReproInputException($"{source}: {what}: external data bytes {offset}..{offset + expected} lie outside {path} ({file.Length} bytes)");
        if (expected > int.MaxValue) throw new ReproInputException($"{source}: {what}: {expected} bytes of external data in one tensor is more than the importer reads");
        var bytes = new byte[expected];
        using var stream = File.OpenRead(path);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        return bytes;
    }
}
