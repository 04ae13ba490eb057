using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// A TFLite CONV_2D or DEPTHWISE_CONV_2D in float: torch conv2d on NCHW with OIHW weights (groups =
/// input channels for depthwise), TensorFlow SAME padding applied explicitly (it can be
/// asymmetric, which conv2d's own padding cannot express), then the fused activation. Weight and
/// bias are registered parameters, so they can be listed, frozen or fine-tuned like any module's.
/// </summary>
internal sealed class TfConv2d : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly TflitePadding padding;
    readonly int strideH, strideW, dilationH, dilationW;
    readonly long groups;

    public TflitePadding Padding => padding;
    public (int H, int W) Stride => (strideH, strideW);
    public (int H, int W) Dilation => (dilationH, dilationW);
    public long Groups => groups;
    public TfliteActivation Activation { get; }
    public Parameter Weight => weight;
    public Parameter? Bias => bias;

    /// <param name="weightOihw">[out, in / groups, kH, kW] float32; the module takes ownership.</param>
    public TfConv2d(string name, Tensor weightOihw, Tensor? bias, TflitePadding padding, int strideH, int strideW,
        int dilationH, int dilationW, long groups, TfliteActivation activation) : base(name)
    {
        if (weightOihw.dim() != 4) throw new ArgumentException($"{name}: weight must be [O,I,kH,kW], got [{string.Join(",", weightOihw.shape)}]");
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weightOihw.shape[0]))
            throw new ArgumentException($"{name}: bias [{string.Join(",", bias.shape)}] does not match {weightOihw.shape[0]} output channels");
        if (padding is not (TflitePadding.SAME or TflitePadding.VALID)) throw new ArgumentException($"{name}: unknown padding {padding}");
        weight = new Parameter(weightOihw);
        this.bias = bias is null ? null : new Parameter(bias);
        this.padding = padding;
        (this.strideH, this.strideW, this.dilationH, this.dilationW, this.groups) = (strideH, strideW, dilationH, dilationW, groups);
        Activation = activation;
        register_parameter("weight", weight);
        if (this.bias is not null) register_parameter("bias", this.bias);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var input = x;
        long[] symmetric = [0, 0];
        if (padding == TflitePadding.SAME)
        {
            long[] pad = TfSamePadding.ForTorch(x.shape[2], x.shape[3], (int)weight.shape[2], (int)weight.shape[3], strideH, strideW, dilationH, dilationW);
            // conv2d pads symmetrically itself, without copying the input; only the asymmetric
            // case (stride 2 on even sizes) needs an explicitly padded copy.
            if (pad[0] == pad[1] && pad[2] == pad[3]) symmetric = [pad[2], pad[0]];
            else input = nn.functional.pad(x, pad);
        }
        var y = nn.functional.conv2d(input, weight, bias, strides: [strideH, strideW], padding: symmetric, dilation: [dilationH, dilationW], groups: groups);
        return TfActivation.Apply(y, Activation).MoveToOuterDisposeScope();
    }
}
