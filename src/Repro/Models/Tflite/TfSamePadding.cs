namespace Repro.Models.Tflite;

/// <summary>
/// TensorFlow's SAME padding. The output size is ceil(input / stride) and the total padding
/// needed for it is split with the smaller half before and the larger after: for a 3x3, stride-2
/// convolution on an even size (224 -> 112) that is 0 before and 1 after, so the extra row and
/// column go at the bottom and right. Torch's symmetric padding=1 would shift every window by one
/// pixel; the network would still run but compute something else.
/// </summary>
internal static class TfSamePadding
{
    /// <summary>Padding (before, after) along one spatial dimension.</summary>
    public static (int Before, int After) For(long inputSize, int kernel, int stride, int dilation = 1)
    {
        if (kernel < 1 || stride < 1 || dilation < 1) throw new ArgumentException($"kernel {kernel}, stride {stride} and dilation {dilation} must be positive");
        long effectiveKernel = (long)(kernel - 1) * dilation + 1;
        long output = (inputSize + stride - 1) / stride;
        long total = Math.Max((output - 1) * stride + effectiveKernel - inputSize, 0);
        return ((int)(total / 2), (int)(total - total / 2));
    }

    /// <summary>The pad argument of torch.nn.functional.pad for an NCHW tensor: (left, right, top, bottom).</summary>
    public static long[] ForTorch(long height, long width, int kernelH, int kernelW, int strideH, int strideW, int dilationH = 1, int dilationW = 1)
    {
        var (top, bottom) = For(height, kernelH, strideH, dilationH);
        var (left, right) = For(width, kernelW, strideW, dilationW);
        return [left, right, top, bottom];
    }
}
