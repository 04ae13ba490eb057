using Repro.Models.Tflite;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Tflite;

public class TfSamePaddingTests
{
    [Test]
    public void Stride2OnAnEvenSizePadsOnlyAfter()
    {
        // 224 -> ceil(224/2) = 112 outputs; windows need (112-1)*2 + 3 = 225 rows: 1 of padding, at the end.
        Assert.That(TfSamePadding.For(224, kernel: 3, stride: 2), Is.EqualTo((0, 1)));
        // 4 -> 2: (2-1)*2 + 3 - 4 = 1, at the end.
        Assert.That(TfSamePadding.For(4, kernel: 3, stride: 2), Is.EqualTo((0, 1)));
        // Odd size 225 -> 113: (113-1)*2 + 3 - 225 = 2, one each side.
        Assert.That(TfSamePadding.For(225, kernel: 3, stride: 2), Is.EqualTo((1, 1)));
        // Stride 1 keeps the size: 3x3 pads 1 each side, 1x1 not at all.
        Assert.That(TfSamePadding.For(7, kernel: 3, stride: 1), Is.EqualTo((1, 1)));
        Assert.That(TfSamePadding.For(7, kernel: 1, stride: 1), Is.EqualTo((0, 0)));
        // Torch order: (left, right, top, bottom).
        Assert.That(TfSamePadding.ForTorch(224, 112, 3, 3, 2, 2), Is.EqualTo(new long[] { 0, 1, 0, 1 }));
    }

    [Test]
    public void AStride2ConvolutionSumsTheWindowsAHandComputationGives()
    {
        // x = 0..15 on a 4x4 grid, a 3x3 all-ones kernel, stride 2, SAME. Windows start at rows
        // and columns 0 and 2; row/column 4 is the padding at the bottom/right.
        //  0  1  2  3
        //  4  5  6  7
        //  8  9 10 11
        // 12 13 14 15
        // (0,0): rows 0-2, cols 0-2 = 0+1+2+4+5+6+8+9+10 = 45
        // (0,1): rows 0-2, cols 2-3 = 2+3+6+7+10+11 = 39
        // (1,0): rows 2-3, cols 0-2 = 8+9+10+12+13+14 = 66
        // (1,1): rows 2-3, cols 2-3 = 10+11+14+15 = 50
        using var x = arange(16f).reshape(1, 1, 4, 4);
        using var conv = new TfConv2d("sum", ones(1, 1, 3, 3), null, TflitePadding.SAME, 2, 2, 1, 1, 1, TfliteActivation.NONE);
        using var y = conv.call(x);
        Assert.That(y.shape, Is.EqualTo(new long[] { 1, 1, 2, 2 }));
        Assert.That(y.data<float>().ToArray(), Is.EqualTo(new float[] { 45, 39, 66, 50 }));
    }

    [Test]
    public void SameAveragePoolingCountsOnlyRealPixels()
    {
        // 2x2 windows, stride 2, on 3x3: output 2x2, 1 row/column of padding at the bottom/right.
        // Windows: {0,1,3,4} -> 2, {2,5} -> 3.5, {6,7} -> 6.5, {8} -> 8.
        using var x = arange(9f).reshape(1, 1, 3, 3);
        using var pool = new TfAveragePool2d("pool", TflitePadding.SAME, 2, 2, 2, 2, TfliteActivation.NONE);
        using var y = pool.call(x);
        Assert.That(y.data<float>().ToArray(), Is.EqualTo(new float[] { 2, 3.5f, 6.5f, 8 }));
    }
}
