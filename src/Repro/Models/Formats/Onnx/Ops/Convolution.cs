using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>
/// ONNX Conv (opsets 1, 11): 2-D convolution of X [N,C,H,W] with W [M, C/group, kH, kW] and an
/// optional bias [M]; group, dilations, strides, explicit or automatic padding. Symmetric padding is
/// passed to conv2d; asymmetric padding pads the input first.
/// </summary>
internal sealed class ConvOp : OnnxOp
{
    readonly SpatialPadding window;
    readonly long group;

    public ConvOp(OnnxNode node) : base(node)
    {
        group = node.Int("group", 1);
        if (group < 1) throw node.Error($"group {group} must be positive");
        window = new SpatialPadding(node, kernelRequired: false);
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "X");
        var w = Input(inputs, 1, "W");
        var b = inputs.Length > 2 ? inputs[2] : null;
        if (x.dim() != 4) throw Node.Error($"only 2-D convolutions are supported: input is {Shape(x)}, expected [N,C,H,W]");
        if (w.dim() != 4) throw Node.Error($"weight is {Shape(w)}, expected [M, C/group, kH, kW]");
        if (window.Kernel is { } k && (w.shape[2] != k[0] || w.shape[3] != k[1]))
            throw Node.Error($"kernel_shape [{string.Join(",", k)}] does not match the weight {Shape(w)}");
        if (x.shape[1] != w.shape[1] * group || w.shape[0] % group != 0)
            throw Node.Error($"input {Shape(x)} and weight {Shape(w)} do not fit group {group}");
        if (b is not null && (b.dim() != 1 || b.shape[0] != w.shape[0]))
            throw Node.Error($"bias {Shape(b)} does not match {w.shape[0]} output channels");

        var (top, left, bottom, right) = window.For(x.shape[2], x.shape[3], w.shape[2], w.shape[3]);
        long oh = window.Output(x.shape[2], top, bottom, w.shape[2], 0, ceil: false);
        long ow = window.Output(x.shape[3], left, right, w.shape[3], 1, ceil: false);
        if (oh < 1 || ow < 1) throw Node.Error($"the {w.shape[2]}x{w.shape[3]} kernel does not fit the padded input {Shape(x)}");
        OnnxLimits.Check(Node, [x.shape[0], w.shape[0], oh, ow]);

        bool symmetric = top == bottom && left == right;
        Runtime.LayerConfiguration.Record(Node.Describe(), () => new()
        {
            Kind = "conv2d", Input = x.shape[1..], ChannelsLast = Runtime.LayerConfiguration.IsChannelsLast(x), Weight = w.shape, Bias = b is not null,
            Stride = window.Strides, Padding = symmetric ? [top, left] : [0, 0], Dilation = window.Dilations, Groups = group,
            Pad = symmetric ? null : [left, right, top, bottom], Output = [w.shape[0], oh, ow],
        });
        if (symmetric)
            return [nn.functional.conv2d(x, w, b, strides: window.Strides, padding: [top, left], dilation: window.Dilations, groups: group)];
        using var padded = nn.functional.pad(x, [left, right, top, bottom]);
        return [nn.functional.conv2d(padded, w, b, strides: window.Strides, padding: [0, 0], dilation: window.Dilations, groups: group)];
    }
}
