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
    /// <summary>The fused activation applied after pooling.</summary>
    public TfliteActivation Activation { get; }

    /// <summary>A float max-pool from a TFLite MAX_POOL_2D.</summary>
    /// <param name="name">The module's name.</param>
    /// <param name="padding">TensorFlow SAME or VALID.</param>
    /// <param name="filterH">Window height.</param>
    /// <param name="filterW">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="activation">The fused activation applied after pooling.</param>
    /// <exception cref="ArgumentException">A filter size or stride is not positive.</exception>
    public TfMaxPool2d(string name, TflitePadding padding, int filterH, int filterW, int strideH, int strideW, TfliteActivation activation) : base(name)
    {
        if (filterH < 1 || filterW < 1 || strideH < 1 || strideW < 1) throw new ArgumentException($"{name}: filter {filterH}x{filterW} and stride {strideH}x{strideW} must be positive");
        (this.padding, this.filterH, this.filterW, this.strideH, this.strideW) = (padding, filterH, filterW, strideH, strideW);
        Activation = activation;
    }

    /// <summary>Max-pools <paramref name="x"/> [N,C,H,W] (SAME padding with -inf), then applies the fused activation.</summary>
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
    /// <summary>The fused activation applied after the product.</summary>
    public TfliteActivation Activation { get; }
    /// <summary>The weight [out, in].</summary>
    public Parameter Weight => weight;
    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>A float fully connected layer from a TFLite FULLY_CONNECTED.</summary>
    /// <param name="name">The module's name (the importer uses the operator's index and code), for messages.</param>
    /// <param name="weight">[out, in] float32; the module takes ownership.</param>
    /// <param name="bias">[out] float32, or null; the module takes ownership.</param>
    /// <param name="keepNumDims">TFLite's keep_num_dims: keep the input's leading axes instead of flattening to rows.</param>
    /// <param name="activation">The fused activation applied after the product.</param>
    /// <exception cref="ArgumentException">The weight is not 2-d, or the bias does not match its outputs.</exception>
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

    /// <summary>y = x W^T + b over rows of <c>in</c> values of <paramref name="x"/>, then the fused activation: [rows, out], or the input's leading axes with keep_num_dims.</summary>
    /// <exception cref="ArgumentException">The input's element count is not a multiple of <c>in</c>.</exception>
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
