using Google.FlatBuffers;
using Repro.Models.Tflite;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>
/// Writes any small TFLite graph with Google's FlatBufferBuilder (an independent writer: the
/// importer's reader is not checked against itself). Tensors are added with their data and
/// quantisation; operators with their options written by a callback, in the schema's field numbers.
/// </summary>
internal sealed class TfliteGraphBuilder
{
    readonly List<(string Name, int[] Shape, TfliteTensorType Type, byte[] Data, float[]? Scale, long[]? Zero, int Dimension)> tensors = [];
    readonly List<(TfliteOperatorCode Code, int[] Inputs, int[] Outputs, byte OptionsType, Func<FlatBufferBuilder, int>? Options)> operators = [];

    public int Activation(string name, int[] shape, TfliteTensorType type = TfliteTensorType.FLOAT32, float scale = 0, long zero = 0) =>
        Add(name, shape, type, [], scale == 0 ? null : [scale], scale == 0 ? null : [zero], 0);

    public int Floats(string name, int[] shape, float[] values) =>
        Add(name, shape, TfliteTensorType.FLOAT32, values.SelectMany(BitConverter.GetBytes).ToArray(), null, null, 0);

    public int Halfs(string name, int[] shape, float[] values) =>
        Add(name, shape, TfliteTensorType.FLOAT16, values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray(), null, null, 0);

    public int Int32s(string name, int[] shape, int[] values, float[]? scale = null, int dimension = 0) =>
        Add(name, shape, TfliteTensorType.INT32, values.SelectMany(BitConverter.GetBytes).ToArray(), scale, scale is null ? null : new long[scale.Length], dimension);

    /// <summary>Quantised 8-bit weights: the raw bytes, with one scale and zero point per tensor or per slice of <paramref name="dimension"/>.</summary>
    public int Bytes(string name, int[] shape, TfliteTensorType type, byte[] raw, float[] scale, long[] zero, int dimension = 0) =>
        Add(name, shape, type, raw, scale, zero, dimension);

    int Add(string name, int[] shape, TfliteTensorType type, byte[] data, float[]? scale, long[]? zero, int dimension)
    {
        tensors.Add((name, shape, type, data, scale, zero, dimension));
        return tensors.Count - 1;
    }

    public void Operator(TfliteOperatorCode code, int[] inputs, int[] outputs, byte optionsType = 0, Func<FlatBufferBuilder, int>? options = null) =>
        operators.Add((code, inputs, outputs, optionsType, options));

    public byte[] Build(int input, int output)
    {
        var b = new FlatBufferBuilder(4096);
        var buffers = new List<int>();
        b.StartTable(3);
        buffers.Add(b.EndTable());  // buffer 0: empty, for activations
        var bufferOf = new int[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Data.Length == 0) continue;
            var vector = FlatBufferVectors.Bytes(b, tensors[i].Data);
            b.StartTable(3);
            b.AddOffset(0, vector.Value, 0);
            bufferOf[i] = buffers.Count;
            buffers.Add(b.EndTable());
        }

        var tensorTables = tensors.Select((t, i) =>
        {
            var name = b.CreateString(t.Name);
            var shape = FlatBufferVectors.Ints(b, t.Shape);
            int quantisation = 0;
            if (t.Scale is { } scale)
            {
                var scales = FlatBufferVectors.Floats(b, scale);
                var zeros = FlatBufferVectors.Longs(b, t.Zero!);
                b.StartTable(7);
                b.AddOffset(2, scales.Value, 0);
                b.AddOffset(3, zeros.Value, 0);
                b.AddInt(6, t.Dimension, 0);
                quantisation = b.EndTable();
            }
            b.StartTable(5);
            b.AddOffset(0, shape.Value, 0);
            b.AddSbyte(1, (sbyte)t.Type, 0);
            b.AddUint(2, (uint)bufferOf[i], 0);
            b.AddOffset(3, name.Value, 0);
            if (quantisation != 0) b.AddOffset(4, quantisation, 0);
            return b.EndTable();
        }).ToArray();

        var codes = operators.Select(o => o.Code).Distinct().ToList();
        var operatorTables = operators.Select(o =>
        {
            int options = o.Options?.Invoke(b) ?? 0;
            var inputs = FlatBufferVectors.Ints(b, o.Inputs);
            var outputs = FlatBufferVectors.Ints(b, o.Outputs);
            b.StartTable(5);
            b.AddUint(0, (uint)codes.IndexOf(o.Code), 0);
            b.AddOffset(1, inputs.Value, 0);
            b.AddOffset(2, outputs.Value, 0);
            if (options != 0)
            {
                b.AddByte(3, o.OptionsType, 0);
                b.AddOffset(4, options, 0);
            }
            return b.EndTable();
        }).ToArray();

        var subgraphTensors = FlatBufferVectors.Offsets(b, tensorTables);
        var subgraphInputs = FlatBufferVectors.Ints(b, [input]);
        var subgraphOutputs = FlatBufferVectors.Ints(b, [output]);
        var subgraphOperators = FlatBufferVectors.Offsets(b, operatorTables);
        b.StartTable(5);
        b.AddOffset(0, subgraphTensors.Value, 0);
        b.AddOffset(1, subgraphInputs.Value, 0);
        b.AddOffset(2, subgraphOutputs.Value, 0);
        b.AddOffset(3, subgraphOperators.Value, 0);
        int subgraph = b.EndTable();

        var codeTables = codes.Select(code =>
        {
            b.StartTable(4);
            b.AddSbyte(0, (sbyte)Math.Min((int)code, 127), 0);
            b.AddInt(3, (int)code, 0);
            return b.EndTable();
        }).ToArray();
        var modelCodes = FlatBufferVectors.Offsets(b, codeTables);
        var modelSubgraphs = FlatBufferVectors.Offsets(b, [subgraph]);
        var modelBuffers = FlatBufferVectors.Offsets(b, buffers.ToArray());
        b.StartTable(5);
        b.AddUint(0, 3, 0);
        b.AddOffset(1, modelCodes.Value, 0);
        b.AddOffset(2, modelSubgraphs.Value, 0);
        b.AddOffset(4, modelBuffers.Value, 0);
        int model = b.EndTable();
        b.Finish(model, "TFL3");
        return b.SizedByteArray();
    }

    /// <summary>An options table with the given scalar fields (field number, value); values are written as their C# type says.</summary>
    public static Func<FlatBufferBuilder, int> Options(int fieldCount, params (int Field, object Value)[] fields) => b =>
    {
        var vectors = fields.Where(f => f.Value is int[]).ToDictionary(f => f.Field, f => FlatBufferVectors.Ints(b, (int[])f.Value).Value);
        b.StartTable(fieldCount);
        foreach (var (field, value) in fields)
            switch (value)
            {
                case int i: b.AddInt(field, i, int.MinValue); break;
                case sbyte s: b.AddSbyte(field, s, sbyte.MinValue); break;
                case bool x: b.AddBool(field, x, !x); break;
                case float f: b.AddFloat(field, f, float.NaN); break;
                case int[]: b.AddOffset(field, vectors[field], 0); break;
                default: throw new ArgumentException($"field {field}: {value.GetType()}");
            }
        return b.EndTable();
    };
}
