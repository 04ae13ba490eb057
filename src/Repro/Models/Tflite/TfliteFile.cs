namespace Repro.Models.Tflite;

/// <summary>
/// Reads a TensorFlow Lite FlatBuffer into a <see cref="TfliteModel"/>. Field numbers are those
/// of tensorflow/lite/schema/schema.fbs (a field's vtable slot is 4 + 2 * number):
/// Model { 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers },
/// OperatorCode { 0 deprecated_builtin_code:byte, 1 custom_code, 2 version, 3 builtin_code:int },
/// SubGraph { 0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name },
/// Tensor { 0 shape, 1 type, 2 buffer, 3 name, 4 quantization },
/// QuantizationParameters { 0 min, 1 max, 2 scale, 3 zero_point, 4/5 details, 6 quantized_dimension },
/// Operator { 0 opcode_index, 1 inputs, 2 outputs, 3 builtin_options_type, 4 builtin_options },
/// Buffer { 0 data, 1 offset, 2 size }.
/// Only the first subgraph (the model's main graph) is read.
/// </summary>
internal static class TfliteFile
{
    public const string Identifier = "TFL3";

    // BuiltinOptions union member numbers of the options tables read here.
    const byte Conv2DOptionsType = 1, DepthwiseConv2DOptionsType = 2, Pool2DOptionsType = 5, FullyConnectedOptionsType = 8,
        SoftmaxOptionsType = 9, ConcatenationOptionsType = 10, AddOptionsType = 11, ReshapeOptionsType = 17, MulOptionsType = 21,
        ReducerOptionsType = 27, SubOptionsType = 28, SqueezeOptionsType = 30;

    public static TfliteModel Read(string path)
    {
        if (!File.Exists(path)) throw new ReproInputException($"TFLite model file not found: {path}");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses the bytes of a .tflite file; <paramref name="source"/> names it in errors.</summary>
    public static TfliteModel Parse(byte[] bytes, string source)
    {
        if (bytes.Length < 8)
            throw new ReproInputException($"{source}: {bytes.Length} bytes is too short to be a TFLite file (truncated?)");
        var reader = new FlatBufferReader(bytes, source);
        if (reader.FileIdentifier != Identifier)
            throw new ReproInputException($"{source}: not a TensorFlow Lite model: file identifier (bytes 4-7) is '{Printable(reader.FileIdentifier)}', expected '{Identifier}'");

        var model = reader.Root();
        uint version = model.UInt32(0);
        var codes = model.Tables(1, "operator_codes").Select(ReadOperatorCode).ToArray();
        var buffers = model.Tables(4, "buffers").Select(b => ReadBuffer(reader, b)).ToArray();
        var subgraphs = model.Tables(2, "subgraphs");
        if (subgraphs.Length == 0) throw new ReproInputException($"{source}: the model has no subgraph");
        var graph = subgraphs[0];

        var tensors = graph.Tables(0, "tensors").Select((t, i) => ReadTensor(source, t, i, buffers)).ToArray();
        int[] inputs = CheckedIndices(graph.Int32s(1), tensors.Length, source, "subgraph inputs");
        int[] outputs = CheckedIndices(graph.Int32s(2), tensors.Length, source, "subgraph outputs");
        var operators = graph.Tables(3, "operators").Select((o, i) => ReadOperator(source, o, i, codes, tensors.Length)).ToArray();
        return new TfliteModel(source, version, tensors, operators, inputs, outputs);
    }

    /// <summary>
    /// The operator's code is max(deprecated_builtin_code, builtin_code): files written before
    /// codes outgrew a byte only fill the deprecated field (the new one reads as its default 0),
    /// newer files fill both (the deprecated one capped at 127), as TFLite's own GetBuiltinCode does.
    /// </summary>
    static (TfliteOperatorCode Code, string? Custom) ReadOperatorCode(FlatTable t) =>
        ((TfliteOperatorCode)Math.Max(t.Int8(0), t.Int32(3)), t.String(1));

    /// <summary>A buffer's bytes: inline data, or (models over 2 GB) an offset and size into the file.</summary>
    static ReadOnlyMemory<byte> ReadBuffer(FlatBufferReader reader, FlatTable b)
    {
        ulong offset = b.UInt64(1), size = b.UInt64(2);
        if (offset > 1) return reader.Slice((long)offset, (long)size, $"{b.What} (external data)");
        return b.Bytes(0);
    }

    static TfliteTensor ReadTensor(string source, FlatTable t, int index, ReadOnlyMemory<byte>[] buffers)
    {
        uint buffer = t.UInt32(2);
        if (buffer >= buffers.Length)
            throw new ReproInputException($"{source}: tensor {index} refers to buffer {buffer}, but the file has {buffers.Length} buffers");
        TfliteQuantization? quantization = null;
        if (t.Table(4) is FlatTable q)
        {
            float[] scale = q.Float32s(2);
            long[] zeroPoint = q.Int64s(3);
            if (scale.Length > 0)
            {
                // A missing zero-point vector means zero points of 0 (symmetric quantisation).
                if (zeroPoint.Length == 0) zeroPoint = new long[scale.Length];
                if (zeroPoint.Length != scale.Length)
                    throw new ReproInputException($"{source}: tensor {index} has {scale.Length} quantisation scales but {zeroPoint.Length} zero points");
                quantization = new TfliteQuantization(scale, zeroPoint, q.Int32(6));
            }
        }
        return new TfliteTensor(index, t.String(3) ?? "", t.Int32s(0), (TfliteTensorType)t.Int8(1), buffers[buffer], quantization);
    }

    static TfliteOperator ReadOperator(string source, FlatTable o, int index, (TfliteOperatorCode Code, string? Custom)[] codes, int tensorCount)
    {
        uint opcode = o.UInt32(0);
        if (opcode >= codes.Length)
            throw new ReproInputException($"{source}: operator {index} has opcode index {opcode}, but the file lists {codes.Length} operator codes");
        var (code, custom) = codes[opcode];
        int[] inputs = CheckedIndices(o.Int32s(1), tensorCount, source, $"operator {index} inputs");
        int[] outputs = CheckedIndices(o.Int32s(2), tensorCount, source, $"operator {index} outputs");
        return new TfliteOperator(index, code, custom, inputs, outputs, ReadOptions(source, o, index, code));
    }

    static TfliteOptions? ReadOptions(string source, FlatTable o, int index, TfliteOperatorCode code)
    {
        byte expected = code switch
        {
            TfliteOperatorCode.CONV_2D => Conv2DOptionsType,
            TfliteOperatorCode.DEPTHWISE_CONV_2D => DepthwiseConv2DOptionsType,
            TfliteOperatorCode.AVERAGE_POOL_2D or TfliteOperatorCode.MAX_POOL_2D => Pool2DOptionsType,
            TfliteOperatorCode.ADD => AddOptionsType,
            TfliteOperatorCode.MUL => MulOptionsType,
            TfliteOperatorCode.SUB => SubOptionsType,
            TfliteOperatorCode.RESHAPE => ReshapeOptionsType,
            TfliteOperatorCode.SOFTMAX => SoftmaxOptionsType,
            TfliteOperatorCode.FULLY_CONNECTED => FullyConnectedOptionsType,
            TfliteOperatorCode.CONCATENATION => ConcatenationOptionsType,
            TfliteOperatorCode.MEAN => ReducerOptionsType,
            TfliteOperatorCode.SQUEEZE => SqueezeOptionsType,
            _ => 0,
        };
        if (expected == 0) return null;
        byte type = o.UInt8(3);
        var table = o.Table(4);
        if (table is null)
        {
            // Absent options mean all defaults; convolutions and pooling have none usable (no strides).
            return code switch
            {
                TfliteOperatorCode.ADD or TfliteOperatorCode.MUL or TfliteOperatorCode.SUB => new TfliteAddOptions(TfliteActivation.NONE),
                TfliteOperatorCode.RESHAPE => new TfliteReshapeOptions([]),
                TfliteOperatorCode.SOFTMAX => new TfliteSoftmaxOptions(0),
                TfliteOperatorCode.FULLY_CONNECTED => new TfliteFullyConnectedOptions(TfliteActivation.NONE, 0, false),
                TfliteOperatorCode.CONCATENATION => new TfliteConcatenationOptions(0, TfliteActivation.NONE),
                TfliteOperatorCode.MEAN => new TfliteReducerOptions(false),
                TfliteOperatorCode.SQUEEZE => new TfliteSqueezeOptions([]),
                _ => throw new ReproInputException($"{source}: operator {index} ({TfliteNames.Of(code)}) has no options (strides, padding)"),
            };
        }
        if (type != expected)
            throw new ReproInputException($"{source}: operator {index} ({TfliteNames.Of(code)}) carries options of union type {type}, expected {expected}");
        var t = table.Value;
        return code switch
        {
            TfliteOperatorCode.CONV_2D => new TfliteConvOptions((TflitePadding)t.Int8(0), t.Int32(2), t.Int32(1), t.Int32(5, 1), t.Int32(4, 1), (TfliteActivation)t.Int8(3)),
            TfliteOperatorCode.DEPTHWISE_CONV_2D => new TfliteDepthwiseConvOptions((TflitePadding)t.Int8(0), t.Int32(2), t.Int32(1), t.Int32(3), t.Int32(6, 1), t.Int32(5, 1), (TfliteActivation)t.Int8(4)),
            TfliteOperatorCode.AVERAGE_POOL_2D or TfliteOperatorCode.MAX_POOL_2D => new TflitePoolOptions((TflitePadding)t.Int8(0), t.Int32(2), t.Int32(1), t.Int32(4), t.Int32(3), (TfliteActivation)t.Int8(5)),
            TfliteOperatorCode.ADD or TfliteOperatorCode.MUL or TfliteOperatorCode.SUB => new TfliteAddOptions((TfliteActivation)t.Int8(0)),
            TfliteOperatorCode.RESHAPE => new TfliteReshapeOptions(t.Int32s(0)),
            TfliteOperatorCode.SOFTMAX => new TfliteSoftmaxOptions(t.Float32(0)),
            TfliteOperatorCode.FULLY_CONNECTED => new TfliteFullyConnectedOptions((TfliteActivation)t.Int8(0), t.Int8(1), t.UInt8(2) != 0),
            TfliteOperatorCode.CONCATENATION => new TfliteConcatenationOptions(t.Int32(0), (TfliteActivation)t.Int8(1)),
            TfliteOperatorCode.MEAN => new TfliteReducerOptions(t.UInt8(0) != 0),
            TfliteOperatorCode.SQUEEZE => new TfliteSqueezeOptions(t.Int32s(0)),
            _ => null,
        };
    }

    /// <summary>Tensor indices must name a tensor; -1 marks an omitted optional input.</summary>
    static int[] CheckedIndices(int[] indices, int tensorCount, string source, string what)
    {
        foreach (int i in indices)
            if (i < -1 || i >= tensorCount)
                throw new ReproInputException($"{source}: {what} name tensor {i}, but the subgraph has {tensorCount} tensors");
        return indices;
    }

    static string Printable(string s) => new(s.Select(c => c >= ' ' && c < 127 ? c : '?').ToArray());
}
