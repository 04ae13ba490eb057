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

    /// <summary>TensorFlow SAME or VALID padding.</summary>
    public TflitePadding Padding => padding;
    /// <summary>Stride (height, width).</summary>
    public (int H, int W) Stride => (strideH, strideW);
    /// <summary>Dilation (height, width).</summary>
    public (int H, int W) Dilation => (dilationH, dilationW);
    /// <summary>Convolution groups (input channels for depthwise).</summary>
    public long Groups => groups;
    /// <summary>The fused activation applied after the convolution.</summary>
    public TfliteActivation Activation { get; }
    /// <summary>The weight [out, in / groups, kH, kW] (OIHW).</summary>
    public Parameter Weight => weight;
    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>A float convolution from a TFLite CONV_2D or DEPTHWISE_CONV_2D.</summary>
    /// <param name="name">The module's name (the importer uses the operator's index and code), for messages.</param>
    /// <param name="weightOihw">[out, in / groups, kH, kW] float32; the module takes ownership.</param>
    /// <param name="bias">[out] float32, or null; the module takes ownership.</param>
    /// <param name="padding">TensorFlow SAME or VALID.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="dilationH">Vertical dilation.</param>
    /// <param name="dilationW">Horizontal dilation.</param>
    /// <param name="groups">Convolution groups (input channels for depthwise, else 1).</param>
    /// <param name="activation">The fused activation applied after the convolution.</param>
    /// <exception cref="ArgumentException">The weight is not 4-d, the bias does not match its output channels, or the padding is unknown.</exception>
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

    /// <summary>Convolves <paramref name="x"/> [N,C,H,W] (float) with SAME or VALID padding, then applies the fused activation.</summary>
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
