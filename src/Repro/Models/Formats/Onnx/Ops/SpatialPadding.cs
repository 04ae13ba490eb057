namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>
/// The padding of ONNX's 2-D windowed operators (Conv, MaxPool, AveragePool): explicit
/// <c>pads</c> = [top, left, bottom, right] (ONNX lists all begins, then all ends), or
/// <c>auto_pad</c>: VALID (none), SAME_UPPER / SAME_LOWER (output = ceil(input / stride); an odd
/// total puts the extra pixel at the end for UPPER, at the start for LOWER). CNTK and TensorFlow
/// exports use asymmetric padding, which torch's symmetric padding argument cannot express.
/// </summary>
internal sealed class SpatialPadding
{
    readonly string autoPad;
    readonly long[] pads;
    readonly long[] strides, dilations;

    /// <summary>kernel_shape [kH, kW]; null when the node leaves it to the weight (Conv).</summary>
    public long[]? Kernel { get; }
    public long[] Strides => strides;
    public long[] Dilations => dilations;

    public SpatialPadding(OnnxNode node, bool kernelRequired, bool dilationsAllowed = true)
    {
        autoPad = node.String("auto_pad") ?? "NOTSET";
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
            throw node.Error($"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        Kernel = node.Ints("kernel_shape");
        if (Kernel is null && kernelRequired) throw node.Error("kernel_shape is missing");
        if (Kernel is not null && (Kernel.Length != 2 || Kernel.Any(k => k < 1)))
            throw node.Error($"kernel_shape [{string.Join(",", Kernel)}]: only 2-D windows (images [N,C,H,W]) with positive sizes are supported");
        strides = node.Ints("strides") ?? [1, 1];
        dilations = node.Ints("dilations") ?? [1, 1];
        if (strides.Length != 2 || strides.Any(s => s < 1)) throw node.Error($"strides [{string.Join(",", strides)}] must be two positive numbers");
        if (dilations.Length != 2 || dilations.Any(d => d < 1)) throw node.Error($"dilations [{string.Join(",", dilations)}] must be two positive numbers");
        if (!dilationsAllowed && dilations.Any(d => d != 1)) throw node.Error($"dilations [{string.Join(",", dilations)}] are not supported for this operator (only 1)");
        pads = node.Ints("pads") ?? [0, 0, 0, 0];
        if (pads.Length != 4 || pads.Any(p => p < 0 || p > 1 << 16))
            throw node.Error($"pads [{string.Join(",", pads)}] must be four non-negative numbers (top, left, bottom, right)");
        if (autoPad != "NOTSET" && node.Ints("pads") is { } given && given.Any(p => p != 0))
            throw node.Error($"has both auto_pad {autoPad} and explicit pads");
    }

    /// <summary>(top, left, bottom, right) for an input of <paramref name="height"/> x <paramref name="width"/> and a kH x kW window.</summary>
    public (long Top, long Left, long Bottom, long Right) For(long height, long width, long kernelH, long kernelW)
    {
        switch (autoPad)
        {
            case "VALID": return (0, 0, 0, 0);
            case "SAME_UPPER":
            case "SAME_LOWER":
                var (t, b) = Same(height, kernelH, 0);
                var (l, r) = Same(width, kernelW, 1);
                return (t, l, b, r);
            default: return (pads[0], pads[1], pads[2], pads[3]);
        }
    }

    /// <summary>Output size along one axis: floor (or ceil) of (padded - effective kernel) / stride, plus one.</summary>
    public long Output(long size, long begin, long end, long kernel, int axis, bool ceil)
    {
        long span = size + begin + end - ((kernel - 1) * dilations[axis] + 1);
        if (span < 0) return 0;
        return (ceil ? (span + strides[axis] - 1) / strides[axis] : span / strides[axis]) + 1;
    }

    (long Begin, long End) Same(long size, long kernel, int axis)
    {
        long output = (size + strides[axis] - 1) / strides[axis];
        long total = Math.Max(0, (output - 1) * strides[axis] + (kernel - 1) * dilations[axis] + 1 - size);
        long small = total / 2, big = total - small;
        return autoPad == "SAME_UPPER" ? (small, big) : (big, small);
    }
}
