using Repro.Models.Formats.Onnx.Ops;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// The ONNX operators the importer implements (default domain, opsets 7-21), by name. A node whose
/// operator is not here, or of another domain, is refused naming the node, its operator and this list.
/// </summary>
internal static class OnnxOperators
{
    static readonly Dictionary<string, Func<OnnxNode, IOnnxConstants, OnnxOp>> Factories = new(StringComparer.Ordinal)
    {
        ["Conv"] = (n, _) => new ConvOp(n),
        ["BatchNormalization"] = (n, _) => new BatchNormalizationOp(n),
        ["Relu"] = (n, _) => new ActivationOp(n),
        ["LeakyRelu"] = (n, _) => new ActivationOp(n),
        ["Sigmoid"] = (n, _) => new ActivationOp(n),
        ["HardSigmoid"] = (n, _) => new ActivationOp(n),
        ["HardSwish"] = (n, _) => new ActivationOp(n),
        ["Clip"] = (n, c) => new ClipOp(n, c),
        ["Add"] = (n, _) => new BinaryOp(n),
        ["Sub"] = (n, _) => new BinaryOp(n),
        ["Mul"] = (n, _) => new BinaryOp(n),
        ["Div"] = (n, _) => new BinaryOp(n),
        ["MaxPool"] = (n, _) => new MaxPoolOp(n),
        ["AveragePool"] = (n, _) => new AveragePoolOp(n),
        ["GlobalAveragePool"] = (n, _) => new GlobalAveragePoolOp(n),
        ["Gemm"] = (n, _) => new GemmOp(n),
        ["MatMul"] = (n, _) => new MatMulOp(n),
        ["Flatten"] = (n, _) => new FlattenOp(n),
        ["Reshape"] = (n, _) => new ReshapeOp(n),
        ["Transpose"] = (n, _) => new TransposeOp(n),
        ["Concat"] = (n, _) => new ConcatOp(n),
        ["Split"] = (n, _) => new SplitOp(n),
        ["Pad"] = (n, _) => new PadOp(n),
        ["ReduceMean"] = (n, _) => new ReduceMeanOp(n),
        ["Softmax"] = (n, _) => new SoftmaxOp(n),
        ["LogSoftmax"] = (n, _) => new SoftmaxOp(n),
        ["Identity"] = (n, _) => new IdentityOp(n),
        ["Dropout"] = (n, _) => new IdentityOp(n),
        ["Constant"] = (n, c) => new ConstantOp(n, c),
        ["ConstantOfShape"] = (n, c) => new ConstantOfShapeOp(n, c),
        ["Shape"] = (n, _) => new ShapeOp(n),
        ["Gather"] = (n, _) => new GatherOp(n),
        ["Unsqueeze"] = (n, _) => new SqueezeOp(n),
        ["Squeeze"] = (n, _) => new SqueezeOp(n),
        ["Slice"] = (n, _) => new SliceOp(n),
        ["Cast"] = (n, _) => new CastOp(n),
    };

    /// <summary>The supported operator names, sorted, as error messages list them.</summary>
    public static IReadOnlyList<string> Supported { get; } = Factories.Keys.Order(StringComparer.Ordinal).ToArray();

    public static string SupportedList => string.Join(", ", Supported);

    public static bool IsSupported(OnnxNode node) => node.Domain is "" or "ai.onnx" && Factories.ContainsKey(node.OpType);

    public static OnnxOp Create(OnnxNode node, IOnnxConstants constants)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            throw node.Error($"operator domain '{node.Domain}' is not supported: the importer reads the default ONNX domain (operators: {SupportedList})");
        if (!Factories.TryGetValue(node.OpType, out var factory))
            throw node.Error($"operator {node.OpType} is not supported (supported: {SupportedList})");
        return factory(node, constants);
    }
}
