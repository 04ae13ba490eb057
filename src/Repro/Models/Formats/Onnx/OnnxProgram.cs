using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx;

/// <summary>Where a value of the imported program comes from.</summary>
internal enum OnnxSlotKind
{
    /// <summary>The image batch.</summary>
    Input,
    /// <summary>A float initialiser: a registered parameter of the network (frozen by attacks, trainable otherwise).</summary>
    Parameter,
    /// <summary>A float constant that is not a weight (batch-norm statistics, Constant nodes, folded values): a registered buffer.</summary>
    Buffer,
    /// <summary>An integer or bool constant (shapes, axes, pads), kept on the CPU.</summary>
    Constant,
    /// <summary>A value computed from the input's shape: intercept + slope * batch size, folded at import.</summary>
    Template,
    /// <summary>Computed by a step at run time.</summary>
    Computed,
}

/// <summary>One value of the program: its ONNX name, kind, and the registered name or constant behind it.</summary>
internal sealed class OnnxSlot(string name, OnnxSlotKind kind)
{
    public string Name { get; } = name;
    public OnnxSlotKind Kind { get; } = kind;
    /// <summary>The parameter or buffer name in the network (ONNX names may contain dots, which module names may not).</summary>
    public string? ModuleName { get; init; }
    public Tensor? Constant { get; init; }
    public ShapeTemplate? Template { get; init; }
}

/// <summary>
/// A value the graph computes from its input's shape (Shape, then Gather/Concat/... on it): measured
/// at import for batches of 1 and 2, it is intercept + slope * N for a batch of N (a flatten's
/// [N, -1] is intercept [0,-1], slope [1,0]). Folding it removes the shape arithmetic from every run.
/// </summary>
internal sealed class ShapeTemplate(Tensor intercept, Tensor slope)
{
    public Tensor Intercept { get; } = intercept;
    public Tensor Slope { get; } = slope;

    public Tensor At(long batch) => Intercept + Slope * batch;
}

/// <summary>One step of the program: an operator, the slots it reads (-1 for an omitted input) and those it writes (-1 for an unused output).</summary>
internal sealed record OnnxStep(OnnxOp Op, int[] Inputs, int[] Outputs);
