using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>
/// ONNX ReduceMean: axes as an attribute before opset 18, as an optional input from 18; keepdims
/// (default 1); no axes means all axes, or the identity when noop_with_empty_axes = 1 (opset 18).
/// </summary>
internal sealed class ReduceMeanOp(OnnxNode node) : OnnxOp(node)
{
    readonly bool keepDims = node.Int("keepdims", 1) != 0;
    readonly bool noopWithoutAxes = node.Int("noop_with_empty_axes", 0) != 0;

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long[]? axes = Node.Opset < 18 ? Node.Ints("axes") : inputs.Length > 1 && inputs[1] is Tensor t ? Longs(t, "axes") : null;
        if (axes is null || axes.Length == 0)
        {
            if (noopWithoutAxes) return [x.alias()];
            axes = Enumerable.Range(0, (int)x.dim()).Select(i => (long)i).ToArray();
        }
        var normalised = axes.Select(a => Axis(a, x.dim(), "axes")).Distinct().ToArray();
        return [x.mean(normalised, keepdim: keepDims)];
    }
}

/// <summary>
/// ONNX Pad: pads (and mode, value) as attributes before opset 11; pads, constant_value and (opset 18)
/// axes as inputs after. pads lists the begins of every padded axis, then the ends; negative pads
/// crop (constant mode). Modes: constant, reflect, edge, wrap (opset 19); the last three only on the
/// two spatial axes of [N,C,H,W], which is what torch implements them for.
/// </summary>
internal sealed class PadOp : OnnxOp
{
    readonly string mode;

    public PadOp(OnnxNode node) : base(node)
    {
        mode = node.String("mode") ?? "constant";
        if (mode is not ("constant" or "reflect" or "edge" or "wrap")) throw node.Error($"mode '{mode}' is not one of constant, reflect, edge, wrap");
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long rank = x.dim();
        long[] pads;
        double value = 0;
        long[]? axes = null;
        if (Node.Opset < 11)
        {
            pads = Node.Ints("pads") ?? throw Node.Error("pads are missing");
            value = Node.Float("value", 0f);
        }
        else
        {
            pads = Longs(Input(inputs, 1, "pads"), "pads");
            if (inputs.Length > 2 && inputs[2] is Tensor v)
            {
                if (v.numel() != 1) throw Node.Error($"constant_value must be a scalar, got {Shape(v)}");
                using var cpu = v.to(CPU).to_type(ScalarType.Float64);
                value = cpu.flatten().item<double>();
            }
            if (inputs.Length > 3 && inputs[3] is Tensor a) axes = Longs(a, "axes").Select(ax => Axis(ax, rank, "axes")).ToArray();
        }
        axes ??= Enumerable.Range(0, (int)rank).Select(i => (long)i).ToArray();
        if (pads.Length != 2 * axes.Length) throw Node.Error($"pads {Dims(pads)} should hold a begin and an end for each of {axes.Length} axes");

        var begin = new long[rank];
        var end = new long[rank];
        for (int i = 0; i < axes.Length; i++)
        {
            begin[axes[i]] = pads[i];
            end[axes[i]] = pads[i + axes.Length];
        }
        var shape = x.shape.Select((d, i) => d + begin[i] + end[i]).ToArray();
        if (shape.Any(d => d < 0)) throw Node.Error($"pads {Dims(pads)} crop more than {Shape(x)} has");
        OnnxLimits.Check(Node, shape);

        int first = Enumerable.Range(0, (int)rank).FirstOrDefault(i => begin[i] != 0 || end[i] != 0, (int)rank);
        if (first == rank) return [x.alias()];
        if (mode != "constant" && (rank != 4 || first < 2 || begin.Concat(end).Any(p => p < 0)))
            throw Node.Error($"{mode} padding of {Shape(x)} with pads {Dims(pads)}: only non-negative padding of the two spatial axes of [N,C,H,W] is supported");
        // torch lists (begin, end) pairs from the last axis backwards.
        var list = new List<long>();
        for (int i = (int)rank - 1; i >= first; i--) { list.Add(begin[i]); list.Add(end[i]); }
        var torchMode = mode switch
        {
            "reflect" => PaddingModes.Reflect,
            "edge" => PaddingModes.Replicate,
            "wrap" => PaddingModes.Circular,
            _ => PaddingModes.Constant,
        };
        if (mode != "constant" && list.Count == 2) { list.Add(0); list.Add(0); }
        return [nn.functional.pad(x, list.ToArray(), torchMode, value)];
    }
}
