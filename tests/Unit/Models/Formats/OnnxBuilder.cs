using Google.Protobuf;
using Onnx;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>
/// Writes small ONNX models with the protobuf classes generated from onnx.proto, for tests that need
/// a graph the fixtures do not have (crafted, damaged or odd files). <see cref="Classifier"/> is a
/// valid little classifier: x [N,3,8,8] -> Conv 3x3 (4 channels) -> Relu -> GlobalAveragePool ->
/// Flatten -> Gemm (5 classes).
/// </summary>
internal static class OnnxBuilder
{
    public static ModelProto Classifier(int opset = 13, int classes = 5)
    {
        var graph = new GraphProto { Name = "tiny" };
        graph.Input.Add(ImageInput("x", ["N", 3, 8, 8]));
        graph.Output.Add(Output("y"));
        graph.Initializer.Add(Floats("w", [4, 3, 3, 3], seed: 1));
        graph.Initializer.Add(Floats("b", [4], seed: 2));
        graph.Initializer.Add(Floats("fw", [classes, 4], seed: 3));
        graph.Initializer.Add(Floats("fb", [classes], seed: 4));
        graph.Node.Add(Node("Conv", ["x", "w", "b"], ["c"], "conv", ("pads", new long[] { 1, 1, 1, 1 })));
        graph.Node.Add(Node("Relu", ["c"], ["r"], "relu"));
        graph.Node.Add(Node("GlobalAveragePool", ["r"], ["g"], "pool"));
        graph.Node.Add(Node("Flatten", ["g"], ["f"], "flatten"));
        graph.Node.Add(Node("Gemm", ["f", "fw", "fb"], ["y"], "classifier", ("transB", 1L)));
        var model = new ModelProto { IrVersion = 8, ProducerName = "repro-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static string Write(ModelProto model, string name = "model.onnx", string? folder = null)
    {
        string path = Path.Combine(folder ?? Repro.Tests.Unit.Support.TestData.TempFolder(), name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    public static ValueInfoProto ImageInput(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    public static ValueInfoProto Output(string name) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } };

    public static TensorProto Floats(string name, long[] dims, int seed)
    {
        var random = new Random(seed);
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        long count = dims.Aggregate(1L, (p, d) => p * d);
        for (long i = 0; i < count; i++) t.FloatData.Add((float)(random.NextDouble() - 0.5));
        return t;
    }

    public static TensorProto Longs(string name, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    public static NodeProto Node(string op, string[] inputs, string[] outputs, string name, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (key, value) in attributes)
        {
            var a = new AttributeProto { Name = key };
            switch (value)
            {
                case long i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
                case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
                case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
                case long[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints); break;
                case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
                default: throw new ArgumentException($"attribute {key}: {value.GetType()}");
            }
            node.Attribute.Add(a);
        }
        return node;
    }
}
