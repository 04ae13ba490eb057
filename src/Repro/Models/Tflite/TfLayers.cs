using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// A TFLite MAX_POOL_2D in float on NCHW: TensorFlow SAME padding never wins the max, so the input
/// is padded with -inf (the padding can be asymmetric), then the fused activation.
/// </summary>
internal sealed class TfMaxPool2d : nn.Module<Tensor, Tensor>
{
    readonly TflitePadding padding;
    readonly int filterH, filterW, strideH, strideW;
    public TfliteActivation Activation { get; }

    public TfMaxPool2d(string name, TflitePadding padding, int filterH, int filterW, int strideH, int strideW, TfliteActivation activation) : base(name)
    {
        if (filterH < 1 || filterW < 1 || strideH < 1 || strideW < 1) throw new ArgumentException($"{name}: filter {filterH}x{filterW} and stride {strideH}x{strideW} must be positive");
        (this.padding, this.filterH, this.filterW, this.strideH, this.strideW) = (padding, filterH, filterW, strideH, strideW);
        Activation = activation;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var input = padding == TflitePadding.SAME
            ? nn.functional.pad(x, TfSamePadding.ForTorch(x.shape[2], x.shape[3], filterH, filterW, strideH, strideW), value: double.NegativeInfinity)
            : x;
        var y = nn.functional.max_pool2d(input, [filterH, filterW], [strideH, strideW]);
        return TfActivation.Apply(y, Activation).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A TFLite FULLY_CONNECTED in float: the input (in TensorFlow's axis order) is seen as rows of
/// <c>in</c> values, y = x W^T + b with W [out, in] (the file's layout, dequantised per tensor or per
/// output channel), then the fused activation; keep_num_dims keeps the input's leading axes.
/// </summary>
internal sealed class TfFullyConnected : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly bool keepNumDims;
    public TfliteActivation Activation { get; }
    public Parameter Weight => weight;
    public Parameter? Bias => bias;

    /// <param name="weight">[out, in] float32; the module takes ownership.</param>
    public TfFullyConnected(string name, Tensor weight, Tensor? bias, bool keepNumDims, TfliteActivation activation) : base(name)
    {
        if (weight.dim() != 2) throw new ArgumentException($"{name}: weight must be [out, in], got [{string.Join(",", weight.shape)}]");
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"{name}: bias [{string.Join(",", bias.shape)}] does not match {weight.shape[0]} outputs");
        this.weight = new Parameter(weight);
        this.bias = bias is null ? null : new Parameter(bias);
        this.keepNumDims = keepNumDims;
        Activation = activation;
        register_parameter("weight", this.weight);
        if (this.bias is not null) register_parameter("bias", this.bias);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long inputs = weight.shape[1];
        if (x.numel() % inputs != 0) throw new ArgumentException($"{GetName()}: input [{string.Join(",", x.shape)}] is not rows of {inputs} values");
        var y = nn.functional.linear(x.reshape(-1, inputs), weight, bias);
        if (keepNumDims) y = y.reshape([.. x.shape.SkipLast(1), weight.shape[0]]);
        return TfActivation.Apply(y, Activation).MoveToOuterDisposeScope();
    }
}
