using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// One ONNX operator instance: its attributes are read and checked when it is built (errors name
/// the node), and <see cref="Run"/> computes its outputs with differentiable torch operations. The
/// same code folds constant subgraphs at import (on CPU constants) and runs the network.
/// </summary>
internal abstract class OnnxOp(OnnxNode node)
{
    public OnnxNode Node { get; } = node;

    /// <summary>How many of the node's outputs the operator computes (a node may list more, e.g. Dropout's mask; reading those is refused at import).</summary>
    public virtual int ComputedOutputs => 1;

    /// <param name="inputs">One per node input; null where an optional input is omitted.</param>
    /// <returns>The first <see cref="ComputedOutputs"/> outputs, each a new tensor handle (never an input's own handle).</returns>
    public abstract Tensor[] Run(Tensor?[] inputs);

    protected Tensor Input(Tensor?[] inputs, int i, string what) =>
        i < inputs.Length && inputs[i] is Tensor t ? t : throw Node.Error($"input {i} ({what}) is missing");

    /// <summary>Reads a small integer tensor (shape, axes, pads) as longs: a constant, or a shape value computed on the CPU.</summary>
    protected long[] Longs(Tensor t, string what)
    {
        if (t.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw Node.Error($"{what} must be an integer tensor, got {t.dtype}");
        if (t.numel() > 1 << 16) throw Node.Error($"{what} has {t.numel()} elements; expected a short list");
        using var cpu = t.to(CPU).to_type(ScalarType.Int64).flatten();
        return cpu.data<long>().ToArray();
    }

    /// <summary>Normalises an axis against a rank (negative axes count from the end), or names the node.</summary>
    protected long Axis(long axis, long rank, string what = "axis")
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw Node.Error($"{what} {axis} is out of range for a rank-{rank} tensor");
        return a;
    }

    protected static string Shape(Tensor t) => $"[{string.Join(",", t.shape)}]";

    protected static string Dims(IEnumerable<long> dims) => $"[{string.Join(",", dims)}]";
}

/// <summary>What an operator can know about its inputs when it is built: constant values (initialisers, Constant nodes, folded subgraphs), on the CPU.</summary>
internal interface IOnnxConstants
{
    /// <summary>The constant value named <paramref name="name"/>, or null when it is computed at run time.</summary>
    Tensor? Constant(string name);

    /// <summary>The model file's folder, where external data may live.</summary>
    string? Folder { get; }
}

/// <summary>
/// Size limits: the import runs the graph on one and two dummy images, and a crafted file must not
/// make those runs allocate without bound; ops that can create large tensors from small inputs
/// (Conv, Pad, broadcasting, Gemm/MatMul, ConstantOfShape) check the size they are about to make.
/// </summary>
internal static class OnnxLimits
{
    /// <summary>Elements of one tensor while the importer probes the graph (1 GB of float32).</summary>
    public const long ImportElements = 1L << 28;

    [ThreadStatic] static bool importing;

    /// <summary>True while the importer probes the graph (limits apply); user batches at run time are the user's choice.</summary>
    public static bool Importing { get => importing; internal set => importing = value; }

    public static void Check(OnnxNode node, IReadOnlyList<long> shape)
    {
        if (!Importing) return;
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw node.Error($"would make a tensor with a negative dimension [{string.Join(",", shape)}]");
            if (d != 0 && count > ImportElements / d) throw node.Error($"would make a tensor of shape [{string.Join(",", shape)}], more than {ImportElements} elements for one or two images; refused");
            count *= d;
        }
    }
}
