using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>What MaxPool and AveragePool share: the 4-D input, its window and padding, checked against the input.</summary>
internal abstract class PoolOp(OnnxNode node) : OnnxOp(node)
{
    /// <summary>
    /// The input X [N,C,H,W], the kernel, the padding (top, left, bottom, right) and whether libtorch's own
    /// symmetric padding can express it (equal on both sides, at most half the kernel); throws naming the
    /// node when the input is not 4-D or the window does not fit the padded input.
    /// </summary>
    protected (Tensor X, long[] Kernel, long Top, long Left, long Bottom, long Right, bool Symmetric) Window(Tensor?[] inputs, SpatialPadding window, bool ceil)
    {
        var x = Input(inputs, 0, "X");
        if (x.dim() != 4) throw Node.Error($"only 2-D pooling is supported: input is {Shape(x)}, expected [N,C,H,W]");
        long[] k = window.Kernel!;
        var (top, left, bottom, right) = window.For(x.shape[2], x.shape[3], k[0], k[1]);
        long oh = window.Output(x.shape[2], top, bottom, k[0], 0, ceil), ow = window.Output(x.shape[3], left, right, k[1], 1, ceil);
        if (oh < 1 || ow < 1) throw Node.Error($"the {k[0]}x{k[1]} window does not fit the padded input {Shape(x)}");
        return (x, k, top, left, bottom, right, top == bottom && left == right && 2 * top <= k[0] && 2 * left <= k[1]);
    }
}

/// <summary>
/// ONNX MaxPool (opsets 1, 8, 10, 11, 12): 2-D max pooling with kernel_shape, strides, pads or
/// auto_pad, dilations and ceil_mode (opset 10+). Padding never wins the max: asymmetric or large
/// padding is applied as -inf before pooling. The Indices output is not computed (refused if read).
/// </summary>
internal sealed class MaxPoolOp : PoolOp
{
    readonly SpatialPadding window;
    readonly bool ceil;

    public MaxPoolOp(OnnxNode node) : base(node)
    {
        window = new SpatialPadding(node, kernelRequired: true);
        ceil = node.Int("ceil_mode", 0) != 0;
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var (x, k, top, left, bottom, right, symmetric) = Window(inputs, window, ceil);
        if (symmetric)
            Runtime.LayerConfiguration.Record(Node.Describe(), () => new()
            {
                Kind = "max_pool2d", Input = x.shape[1..], ChannelsLast = Runtime.LayerConfiguration.IsChannelsLast(x), Kernel = k, Stride = window.Strides,
                Padding = [top, left], Dilation = window.Dilations, CeilMode = ceil, Output = [x.shape[1], window.Output(x.shape[2], top, bottom, k[0], 0, ceil), window.Output(x.shape[3], left, right, k[1], 1, ceil)],
            });
        if (symmetric)
            return [nn.functional.max_pool2d(x, k, window.Strides, [top, left], window.Dilations, ceil)];
        using var padded = nn.functional.pad(x, [left, right, top, bottom], value: double.NegativeInfinity);
        return [nn.functional.max_pool2d(padded, k, window.Strides, [0, 0], window.Dilations, ceil)];
    }
}

/// <summary>
/// ONNX AveragePool (opsets 1, 7, 10, 11, 19): 2-D average pooling with kernel_shape, strides, pads
/// or auto_pad, ceil_mode (10+) and count_include_pad (7+, default 0: padding is not counted).
/// Asymmetric or large padding is applied explicitly; without count_include_pad the padded sum is
/// divided by the pooled count of real pixels. Dilations other than 1 (opset 19) are refused.
/// </summary>
internal sealed class AveragePoolOp : PoolOp
{
    readonly SpatialPadding window;
    readonly bool ceil, countPadding;

    public AveragePoolOp(OnnxNode node) : base(node)
    {
        window = new SpatialPadding(node, kernelRequired: true, dilationsAllowed: false);
        ceil = node.Int("ceil_mode", 0) != 0;
        countPadding = node.Int("count_include_pad", 0) != 0;
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var (x, k, top, left, bottom, right, symmetric) = Window(inputs, window, ceil);
        if (symmetric)
            Runtime.LayerConfiguration.Record(Node.Describe(), () => new()
            {
                Kind = countPadding ? "avg_pool2d_count_padding" : "avg_pool2d", Input = x.shape[1..], ChannelsLast = Runtime.LayerConfiguration.IsChannelsLast(x),
                Kernel = k, Stride = window.Strides, Padding = [top, left], CeilMode = ceil,
                Output = [x.shape[1], window.Output(x.shape[2], top, bottom, k[0], 0, ceil), window.Output(x.shape[3], left, right, k[1], 1, ceil)],
            });
        if (symmetric)
            return [nn.functional.avg_pool2d(x, k, window.Strides, [top, left], ceil, countPadding)];

        using var scope = NewDisposeScope();
        long[] pad = [left, right, top, bottom];
        var sums = nn.functional.avg_pool2d(nn.functional.pad(x, pad), k, window.Strides, [0, 0], ceil, true);
        if (countPadding) return [sums.MoveToOuterDisposeScope()];
        // The same pooling of a mask of real pixels: the ratio is the mean over real pixels only.
        var mask = nn.functional.pad(ones(1, 1, x.shape[2], x.shape[3], dtype: x.dtype, device: x.device), pad);
        var counts = nn.functional.avg_pool2d(mask, k, window.Strides, [0, 0], ceil, true);
        return [(sums / counts).MoveToOuterDisposeScope()];
    }
}

/// <summary>ONNX GlobalAveragePool: the mean over all spatial axes, kept as size-1 axes ([N,C,H,W] to [N,C,1,1]).</summary>
internal sealed class GlobalAveragePoolOp(OnnxNode node) : OnnxOp(node)
{
    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "X");
        if (x.dim() < 3) throw Node.Error($"input {Shape(x)} has no spatial axes");
        return [x.mean(Enumerable.Range(2, (int)x.dim() - 2).Select(i => (long)i).ToArray(), keepdim: true)];
    }
}
