using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// A TFLite AVERAGE_POOL_2D in float. With VALID padding it is torch's avg_pool2d. With SAME
/// padding TensorFlow averages only the real pixels under each window (padding is not counted),
/// and the padding can be asymmetric; so the padded sum is divided by the padded count of ones.
/// </summary>
internal sealed class TfAveragePool2d : nn.Module<Tensor, Tensor>
{
    readonly TflitePadding padding;
    readonly int filterH, filterW, strideH, strideW;
    public TfliteActivation Activation { get; }
    public TflitePadding Padding => padding;
    public (int H, int W) Filter => (filterH, filterW);
    public (int H, int W) Stride => (strideH, strideW);

    public TfAveragePool2d(string name, TflitePadding padding, int filterH, int filterW, int strideH, int strideW, TfliteActivation activation) : base(name)
    {
        if (filterH < 1 || filterW < 1 || strideH < 1 || strideW < 1) throw new ArgumentException($"{name}: filter {filterH}x{filterW} and stride {strideH}x{strideW} must be positive");
        (this.padding, this.filterH, this.filterW, this.strideH, this.strideW) = (padding, filterH, filterW, strideH, strideW);
        Activation = activation;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] kernel = [filterH, filterW], strides = [strideH, strideW];
        Tensor y;
        if (padding == TflitePadding.VALID)
            y = nn.functional.avg_pool2d(x, kernel, strides);
        else
        {
            long[] pad = TfSamePadding.ForTorch(x.shape[2], x.shape[3], filterH, filterW, strideH, strideW);
            var sums = nn.functional.avg_pool2d(nn.functional.pad(x, pad), kernel, strides);
            var mask = ones(1, 1, x.shape[2], x.shape[3], dtype: x.dtype, device: x.device);
            var counts = nn.functional.avg_pool2d(nn.functional.pad(mask, pad), kernel, strides);
            y = sums / counts;
        }
        return TfActivation.Apply(y, Activation).MoveToOuterDisposeScope();
    }
}
