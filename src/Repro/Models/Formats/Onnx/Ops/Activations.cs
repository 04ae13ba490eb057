using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>Elementwise activations with their ONNX parameters: Relu, LeakyRelu (alpha 0.01), Sigmoid, HardSigmoid (alpha 0.2, beta 0.5), HardSwish.</summary>
internal sealed class ActivationOp : OnnxOp
{
    readonly Func<Tensor, Tensor> apply;

    public ActivationOp(OnnxNode node) : base(node)
    {
        switch (node.OpType)
        {
            case "Relu": apply = x => nn.functional.relu(x); break;
            case "Sigmoid": apply = x => x.sigmoid(); break;
            case "HardSwish": apply = x => nn.functional.hardswish(x); break;
            case "LeakyRelu":
                double slope = node.Float("alpha", 0.01f);
                apply = x => nn.functional.leaky_relu(x, slope);
                break;
            case "HardSigmoid":
                // ONNX's defaults (0.2, 0.5) differ from torch's hardsigmoid (1/6, 1/2), so it is written out.
                double alpha = node.Float("alpha", 0.2f), beta = node.Float("beta", 0.5f);
                apply = x => (x * alpha + beta).clamp(0.0, 1.0);
                break;
            default: throw node.Error("is not an activation");
        }
    }

    public override Tensor[] Run(Tensor?[] inputs) => [apply(Input(inputs, 0, "X"))];
}

/// <summary>
/// ONNX Clip: min and max as attributes before opset 11, as optional scalar inputs from opset 11
/// (either may be omitted). Constant bounds are read once, when the network is built.
/// </summary>
internal sealed class ClipOp : OnnxOp
{
    readonly double? min, max;
    readonly bool boundsAreInputs;

    public ClipOp(OnnxNode node, IOnnxConstants constants) : base(node)
    {
        if (node.Opset < 11)
        {
            min = node.Has("min") ? node.Float("min", float.MinValue) : null;
            max = node.Has("max") ? node.Float("max", float.MaxValue) : null;
            return;
        }
        boundsAreInputs = true;
        if ((!node.HasInput(1) || constants.Constant(node.Inputs[1]) is not null) && (!node.HasInput(2) || constants.Constant(node.Inputs[2]) is not null))
        {
            boundsAreInputs = false;
            min = node.HasInput(1) ? Scalar(constants.Constant(node.Inputs[1])!, "min") : null;
            max = node.HasInput(2) ? Scalar(constants.Constant(node.Inputs[2])!, "max") : null;
        }
    }

    double Scalar(Tensor t, string what)
    {
        if (t.numel() != 1) throw Node.Error($"{what} must be a scalar, got {Shape(t)}");
        using var cpu = t.to(CPU).to_type(ScalarType.Float64);
        return cpu.item<double>();
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "input");
        double? lo = min, hi = max;
        if (boundsAreInputs)
        {
            lo = inputs.Length > 1 && inputs[1] is Tensor a ? Scalar(a, "min") : null;
            hi = inputs.Length > 2 && inputs[2] is Tensor b ? Scalar(b, "max") : null;
        }
        if (lo is null && hi is null) return [x.alias()];
        return [x.clamp(lo, hi)];
    }
}

/// <summary>
/// ONNX Softmax and LogSoftmax. Before opset 13 the input is seen as a 2-D matrix
/// [prod(shape[..axis]), prod(shape[axis..])] (axis 1 by default) and normalised over its rows;
/// from opset 13 the normalisation is along one axis (-1 by default).
/// </summary>
internal sealed class SoftmaxOp : OnnxOp
{
    readonly long axis;
    readonly bool log;

    public SoftmaxOp(OnnxNode node) : base(node)
    {
        log = node.OpType == "LogSoftmax";
        axis = node.Int("axis", node.Opset < 13 ? 1 : -1);
    }

    public bool IsLog => log;

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "input");
        long a = Axis(axis, x.dim());
        if (Node.Opset >= 13)
            return [log ? x.log_softmax(a) : x.softmax(a)];
        long rows = x.shape.Take((int)a).Aggregate(1L, (p, d) => p * d);
        using var matrix = x.reshape(rows, -1);
        using var normalised = log ? matrix.log_softmax(1) : matrix.softmax(1);
        return [normalised.reshape(x.shape)];
    }
}
