using Google.Protobuf;
using OnnxProto = global::Onnx;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// One node of an ONNX graph as the importer sees it: its name (or "#index" when the file gives
/// none), operator, the opset its operator is read with, the value names it reads ("" = an omitted
/// optional input) and writes, and typed access to its attributes. Every error about a node names
/// the file, the node and the operator.
/// </summary>
internal sealed class OnnxNode
{
    readonly Dictionary<string, OnnxProto.AttributeProto> attributes;

    public OnnxNode(OnnxProto.NodeProto node, int index, int opset, string source)
    {
        Index = index;
        Name = string.IsNullOrEmpty(node.Name) ? $"#{index}" : node.Name;
        OpType = node.OpType;
        Domain = node.Domain;
        Opset = opset;
        Source = source;
        Inputs = node.Input.ToArray();
        Outputs = node.Output.ToArray();
        attributes = new Dictionary<string, OnnxProto.AttributeProto>(StringComparer.Ordinal);
        foreach (var a in node.Attribute)
            if (!attributes.TryAdd(a.Name, a)) throw Error($"attribute '{a.Name}' is given twice");
    }

    public int Index { get; }
    public string Name { get; }
    public string OpType { get; }
    public string Domain { get; }
    /// <summary>The opset version the operator is read with (the model's import for its domain).</summary>
    public int Opset { get; }
    public string Source { get; }
    public string[] Inputs { get; }
    public string[] Outputs { get; }

    public string Describe() => $"node '{Name}' ({OpType})";

    public ReproInputException Error(string message) => new($"{Source}: {Describe()}: {message}");

    /// <summary>Input <paramref name="i"/> is given (present and not the empty name of an omitted optional input).</summary>
    public bool HasInput(int i) => i < Inputs.Length && Inputs[i].Length > 0;

    public bool Has(string name) => attributes.ContainsKey(name);

    public long Int(string name, long fallback) => Get(name, OnnxProto.AttributeProto.Types.AttributeType.Int) is { } a ? a.I : fallback;

    public float Float(string name, float fallback) => Get(name, OnnxProto.AttributeProto.Types.AttributeType.Float) is { } a ? a.F : fallback;

    public long[]? Ints(string name) => Get(name, OnnxProto.AttributeProto.Types.AttributeType.Ints) is { } a ? a.Ints.ToArray() : null;

    public float[]? Floats(string name) => Get(name, OnnxProto.AttributeProto.Types.AttributeType.Floats) is { } a ? a.Floats.ToArray() : null;

    public string? String(string name) => Get(name, OnnxProto.AttributeProto.Types.AttributeType.String) is { } a ? a.S.ToStringUtf8() : null;

    public OnnxProto.TensorProto? Tensor(string name) => Get(name, OnnxProto.AttributeProto.Types.AttributeType.Tensor)?.T;

    /// <summary>The attribute names the node carries (for messages about unsupported ones).</summary>
    public IEnumerable<string> AttributeNames => attributes.Keys;

    OnnxProto.AttributeProto? Get(string name, OnnxProto.AttributeProto.Types.AttributeType type)
    {
        if (!attributes.TryGetValue(name, out var a)) return null;
        if (!string.IsNullOrEmpty(a.RefAttrName)) throw Error($"attribute '{name}' refers to a function attribute ('{a.RefAttrName}'), which only functions may do");
        // IR version 1 files carry no type: accept the attribute when the field the type names is set.
        var actual = a.Type != OnnxProto.AttributeProto.Types.AttributeType.Undefined ? a.Type : Guess(a);
        if (actual != type) throw Error($"attribute '{name}' is {actual}, expected {type}");
        return a;
    }

    static OnnxProto.AttributeProto.Types.AttributeType Guess(OnnxProto.AttributeProto a) =>
        a.Ints.Count > 0 ? OnnxProto.AttributeProto.Types.AttributeType.Ints
        : a.Floats.Count > 0 ? OnnxProto.AttributeProto.Types.AttributeType.Floats
        : a.T != null ? OnnxProto.AttributeProto.Types.AttributeType.Tensor
        : a.S != ByteString.Empty ? OnnxProto.AttributeProto.Types.AttributeType.String
        : a.F != 0 ? OnnxProto.AttributeProto.Types.AttributeType.Float
        : OnnxProto.AttributeProto.Types.AttributeType.Int;
}
