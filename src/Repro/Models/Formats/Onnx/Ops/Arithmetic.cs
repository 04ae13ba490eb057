using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>
/// ONNX Add, Sub, Mul, Div with multidirectional (numpy) broadcasting, as torch broadcasts.
/// Integer Div truncates (shape arithmetic); floating Div is true division.
/// </summary>
internal sealed class BinaryOp(OnnxNode node) : OnnxOp(node)
{
    public override Tensor[] Run(Tensor?[] inputs)
    {
        var a = Input(inputs, 0, "A");
        var b = Input(inputs, 1, "B");
        OnnxLimits.Check(Node, Broadcast(a.shape, b.shape));
        return Node.OpType switch
        {
            "Add" => [a + b],
            "Sub" => [a - b],
            "Mul" => [a * b],
            _ => [a.is_floating_point() || b.is_floating_point() ? a / b : a.div(b, RoundingMode.trunc)],
        };
    }

    long[] Broadcast(long[] x, long[] y)
    {
        int rank = Math.Max(x.Length, y.Length);
        var shape = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long dx = i < rank - x.Length ? 1 : x[i - (rank - x.Length)];
            long dy = i < rank - y.Length ? 1 : y[i - (rank - y.Length)];
            if (dx != dy && dx != 1 && dy != 1) throw Node.Error($"shapes {Dims(x)} and {Dims(y)} do not broadcast");
            shape[i] = dx == 1 ? dy : dx;
        }
        return shape;
    }
}

/// <summary>
/// ONNX Gemm: Y = alpha * A' B' + beta * C, with A' = transA ? A^T : A and B' likewise, both 2-D;
/// C (optional from opset 11) broadcasts to [M,N]. The common case (B transposed, alpha = beta = 1)
/// is one torch linear call.
/// </summary>
internal sealed class GemmOp : OnnxOp
{
    readonly double alpha, beta;
    readonly bool transA, transB;

    public GemmOp(OnnxNode node) : base(node)
    {
        alpha = node.Float("alpha", 1f);
        beta = node.Float("beta", 1f);
        transA = node.Int("transA", 0) != 0;
        transB = node.Int("transB", 0) != 0;
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var a = Input(inputs, 0, "A");
        var b = Input(inputs, 1, "B");
        var c = inputs.Length > 2 ? inputs[2] : null;
        if (a.dim() != 2 || b.dim() != 2) throw Node.Error($"A {Shape(a)} and B {Shape(b)} must both be 2-D");
        long m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1];
        long kb = transB ? b.shape[1] : b.shape[0], n = transB ? b.shape[0] : b.shape[1];
        if (k != kb) throw Node.Error($"A {Shape(a)} and B {Shape(b)} do not multiply (transA {transA}, transB {transB})");
        OnnxLimits.Check(Node, [m, n]);
        if (!transA && transB && alpha == 1 && beta == 1 && (c is null || c.dim() == 1 && c.shape[0] == n))
        {
            Runtime.LayerConfiguration.Record(Node.Describe(), () => new() { Kind = "linear", Input = [k], Weight = b.shape, Bias = c is not null, Output = [n] });
            return [nn.functional.linear(a, b, c)];
        }
        using var scope = NewDisposeScope();
        var product = (transA ? a.t() : a).matmul(transB ? b.t() : b);
        if (alpha != 1) product = product * alpha;
        if (c is not null && beta != 0) product = product + (beta == 1 ? c : c * beta);
        return [product.MoveToOuterDisposeScope()];
    }
}

/// <summary>ONNX MatMul: numpy matrix multiplication (batched, broadcasting), as torch.matmul.</summary>
internal sealed class MatMulOp(OnnxNode node) : OnnxOp(node)
{
    public override Tensor[] Run(Tensor?[] inputs)
    {
        var a = Input(inputs, 0, "A");
        var b = Input(inputs, 1, "B");
        if (a.dim() == 0 || b.dim() == 0) throw Node.Error($"MatMul of a scalar: A {Shape(a)}, B {Shape(b)}");
        long[] shape = [.. a.shape.SkipLast(1), b.shape[^1]];
        OnnxLimits.Check(Node, shape);
        return [a.matmul(b)];
    }
}

/// <summary>
/// ONNX BatchNormalization in inference: (X - mean) / sqrt(var + epsilon) * scale + B per channel
/// (axis 1). The per-activation form of opsets before 9 (spatial = 0) and training mode (opset 14)
/// are refused.
/// </summary>
internal sealed class BatchNormalizationOp : OnnxOp
{
    readonly double epsilon;

    public BatchNormalizationOp(OnnxNode node) : base(node)
    {
        epsilon = node.Float("epsilon", 1e-5f);
        if (node.Opset < 9 && node.Int("spatial", 1) == 0) throw node.Error("spatial = 0 (statistics per activation) is not supported");
        if (node.Int("training_mode", 0) != 0) throw node.Error("training_mode = 1 is not supported: the importer runs models in inference");
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "X");
        var scale = Input(inputs, 1, "scale");
        var bias = Input(inputs, 2, "B");
        var mean = Input(inputs, 3, "input_mean");
        var variance = Input(inputs, 4, "input_var");
        if (x.dim() < 2) throw Node.Error($"input {Shape(x)} has no channel axis");
        foreach (var (t, what) in new[] { (scale, "scale"), (bias, "B"), (mean, "mean"), (variance, "var") })
            if (t.dim() != 1 || t.shape[0] != x.shape[1]) throw Node.Error($"{what} {Shape(t)} does not match {x.shape[1]} channels");
        return [nn.functional.batch_norm(x, mean, variance, scale, bias, training: false, eps: epsilon)];
    }
}
