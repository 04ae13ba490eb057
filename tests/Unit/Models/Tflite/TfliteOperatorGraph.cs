using Repro.Models.Tflite;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>
/// A small TFLite classifier using every operator the importer added beyond MobileNet's, with the
/// weight encodings real files use, and its float64 reference computed from the dequantised weights
/// (dequantised here, independently of the importer). Graph (NHWC, 8x8x3 input):
/// [uint8 input -> DEQUANTIZE | float input -> QUANTIZE -> DEQUANTIZE]
/// -> CONV_2D 3x3 SAME (int8 weights, per-channel scales; int32 bias) + RELU6
/// -> CONV_2D 1x1 (float16 weights through a DEQUANTIZE) -> HARD_SWISH -> MAX_POOL_2D 3x3/2 SAME
/// -> PAD (H +1 before, W +2 after) -> squeeze-and-excite: MEAN(H,W) -> FULLY_CONNECTED -> LOGISTIC
/// -> RESHAPE [1,1,1,4] -> MUL -> SUB constant [4] -> RELU -> MEAN(H,W, keep) -> CONCATENATION (channels)
/// -> ADD itself -> RELU6 -> SQUEEZE -> FULLY_CONNECTED (uint8 weights, per tensor) -> SOFTMAX.
/// </summary>
public static class TfliteOperatorGraph
{
    public const int Classes = 6;
    static readonly Random Rng = new(11);

    static readonly sbyte[] W1 = Values(4 * 3 * 3 * 3, () => (sbyte)Rng.Next(-127, 128));
    static readonly float[] W1Scale = [0.01f, 0.02f, 0.015f, 0.03f];
    static readonly int[] B1 = [120, -340, 55, 800];
    static readonly float[] B1Scale = [0.001f, 0.002f, 0.0015f, 0.003f];
    static readonly float[] W2 = Values(4 * 4, () => (float)(Rng.NextDouble() - 0.5));
    static readonly float[] B2 = [0.1f, -0.2f, 0.05f, 0.3f];
    static readonly float[] Wse = Values(4 * 4, () => (float)(Rng.NextDouble() - 0.5));
    static readonly float[] Bse = [0.2f, -0.1f, 0f, 0.4f];
    static readonly float[] Shift = [0.05f, -0.1f, 0.2f, 0f];
    static readonly byte[] W3 = Values(Classes * 8, () => (byte)Rng.Next(0, 256));
    const float W3Scale = 0.02f; const long W3Zero = 128;
    static readonly int[] B3 = Values(Classes, () => Rng.Next(-200, 200));
    const float B3Scale = 0.005f;
    public const float InputScale = 1f / 128; public const long InputZero = 128;

    static T[] Values<T>(int n, Func<T> next) => Enumerable.Range(0, n).Select(_ => next()).ToArray();

    /// <param name="quantisedInput">A uint8 input (scale 1/128, zero point 128: the file says the model sees 255/128 p - 1), else float32 (the file says nothing).</param>
    public static byte[] Build(bool quantisedInput)
    {
        var g = new TfliteGraphBuilder();
        int input, t2;
        if (quantisedInput)
        {
            input = g.Activation("image", [1, 8, 8, 3], TfliteTensorType.UINT8, InputScale, InputZero);
            t2 = g.Activation("dequantised", [1, 8, 8, 3]);
            g.Operator(TfliteOperatorCode.DEQUANTIZE, [input], [t2]);
        }
        else
        {
            input = g.Activation("image", [1, 8, 8, 3]);
            int t1 = g.Activation("quantised", [1, 8, 8, 3], TfliteTensorType.INT8, InputScale, 0);
            t2 = g.Activation("dequantised", [1, 8, 8, 3]);
            g.Operator(TfliteOperatorCode.QUANTIZE, [input], [t1]);
            g.Operator(TfliteOperatorCode.DEQUANTIZE, [t1], [t2]);
        }
        int w1 = g.Bytes("conv1/weights", [4, 3, 3, 3], TfliteTensorType.INT8, W1.Select(v => (byte)v).ToArray(), W1Scale, new long[4], dimension: 0);
        int b1 = g.Int32s("conv1/bias", [4], B1, B1Scale);
        int t3 = g.Activation("conv1", [1, 8, 8, 4]);
        g.Operator(TfliteOperatorCode.CONV_2D, [t2, w1, b1], [t3], 1, TfliteGraphBuilder.Options(6, (0, (sbyte)0), (1, 1), (2, 1), (3, (sbyte)3))); // SAME, stride 1, RELU6
        int w2h = g.Halfs("conv2/weights_fp16", [4, 1, 1, 4], W2);
        int w2 = g.Activation("conv2/weights", [4, 1, 1, 4]);
        g.Operator(TfliteOperatorCode.DEQUANTIZE, [w2h], [w2]);
        int b2 = g.Floats("conv2/bias", [4], B2);
        int t5 = g.Activation("conv2", [1, 8, 8, 4]);
        g.Operator(TfliteOperatorCode.CONV_2D, [t3, w2, b2], [t5], 1, TfliteGraphBuilder.Options(6, (0, (sbyte)1), (1, 1), (2, 1)));    // VALID 1x1
        int t6 = g.Activation("hardswish", [1, 8, 8, 4]);
        g.Operator(TfliteOperatorCode.HARD_SWISH, [t5], [t6]);
        int t7 = g.Activation("maxpool", [1, 4, 4, 4]);
        g.Operator(TfliteOperatorCode.MAX_POOL_2D, [t6], [t7], 5, TfliteGraphBuilder.Options(6, (0, (sbyte)0), (1, 2), (2, 2), (3, 3), (4, 3))); // SAME 3x3/2
        int paddings = g.Int32s("paddings", [4, 2], [0, 0, 1, 0, 0, 2, 0, 0]);
        int t8 = g.Activation("pad", [1, 5, 6, 4]);
        g.Operator(TfliteOperatorCode.PAD, [t7, paddings], [t8]);
        int axes = g.Int32s("axes", [2], [1, 2]);
        int t9 = g.Activation("se/mean", [1, 4]);
        g.Operator(TfliteOperatorCode.MEAN, [t8, axes], [t9], 27, TfliteGraphBuilder.Options(1, (0, false)));
        int wse = g.Floats("se/weights", [4, 4], Wse);
        int bse = g.Floats("se/bias", [4], Bse);
        int t10 = g.Activation("se/fc", [1, 4]);
        g.Operator(TfliteOperatorCode.FULLY_CONNECTED, [t9, wse, bse], [t10], 8, TfliteGraphBuilder.Options(4, (0, (sbyte)0)));
        int t11 = g.Activation("se/gate", [1, 4]);
        g.Operator(TfliteOperatorCode.LOGISTIC, [t10], [t11]);
        int t12 = g.Activation("se/gate4d", [1, 1, 1, 4]);
        g.Operator(TfliteOperatorCode.RESHAPE, [t11], [t12], 17, TfliteGraphBuilder.Options(1, (0, new[] { 1, 1, 1, 4 })));
        int t13 = g.Activation("se/scaled", [1, 5, 6, 4]);
        g.Operator(TfliteOperatorCode.MUL, [t8, t12], [t13], 21, TfliteGraphBuilder.Options(1, (0, (sbyte)0)));
        int shift = g.Floats("shift", [4], Shift);
        int t14 = g.Activation("shifted", [1, 5, 6, 4]);
        g.Operator(TfliteOperatorCode.SUB, [t13, shift], [t14], 28, TfliteGraphBuilder.Options(1, (0, (sbyte)0)));
        int t15 = g.Activation("relu", [1, 5, 6, 4]);
        g.Operator(TfliteOperatorCode.RELU, [t14], [t15]);
        int t16 = g.Activation("pooled", [1, 1, 1, 4]);
        g.Operator(TfliteOperatorCode.MEAN, [t15, axes], [t16], 27, TfliteGraphBuilder.Options(1, (0, true)));
        int t17 = g.Activation("concat", [1, 1, 1, 8]);
        g.Operator(TfliteOperatorCode.CONCATENATION, [t16, t16], [t17], 10, TfliteGraphBuilder.Options(2, (0, 3), (1, (sbyte)0)));
        int t18 = g.Activation("doubled", [1, 1, 1, 8]);
        g.Operator(TfliteOperatorCode.ADD, [t17, t17], [t18], 11, TfliteGraphBuilder.Options(1, (0, (sbyte)0)));
        int t18b = g.Activation("relu6", [1, 1, 1, 8]);
        g.Operator(TfliteOperatorCode.RELU6, [t18], [t18b]);
        int t19 = g.Activation("features", [1, 8]);
        g.Operator(TfliteOperatorCode.SQUEEZE, [t18b], [t19], 30, TfliteGraphBuilder.Options(1, (0, new[] { 1, 2 })));
        int w3 = g.Bytes("classifier/weights", [Classes, 8], TfliteTensorType.UINT8, W3, [W3Scale], [W3Zero]);
        int b3 = g.Int32s("classifier/bias", [Classes], B3, [B3Scale]);
        int t20 = g.Activation("logits", [1, Classes]);
        g.Operator(TfliteOperatorCode.FULLY_CONNECTED, [t19, w3, b3], [t20], 8, TfliteGraphBuilder.Options(4, (0, (sbyte)0)));
        int t21 = g.Activation("probabilities", [1, Classes]);
        g.Operator(TfliteOperatorCode.SOFTMAX, [t20], [t21], 9, TfliteGraphBuilder.Options(1, (0, 1f)));
        return g.Build(input, t21);
    }

    /// <summary>The float64 logits [N,Classes] and representation [N,8] for images [N,3,8,8] in [0,1], differentiable.</summary>
    public static (Tensor Logits, Tensor Representation) Reference(Tensor images, bool quantisedInput)
    {
        var f64 = ScalarType.Float64;
        var x = quantisedInput ? (images * 255 - InputZero) * InputScale : images;   // the model's view of the pixels
        // Dequantised by hand: int8 per output channel (OHWI -> OIHW), int32 biases with their own scales.
        var w1 = (tensor(W1.Select(v => (double)v).ToArray(), [4, 3, 3, 3]) * tensor(W1Scale.Select(s => (double)s).ToArray()).reshape(4, 1, 1, 1)).permute(0, 3, 1, 2);
        var b1 = tensor(B1.Select((v, i) => v * (double)B1Scale[i]).ToArray());
        var c1 = nn.functional.conv2d(nn.functional.pad(x, [1, 1, 1, 1]), w1, b1).clamp(0, 6);
        var w2 = tensor(W2.Select(v => (double)(float)(Half)v).ToArray(), [4, 1, 1, 4]).permute(0, 3, 1, 2);
        var c2 = nn.functional.conv2d(c1, w2, tensor(B2.Select(v => (double)v).ToArray()));
        var h = c2 * (c2 + 3).clamp(0, 6) / 6;
        // SAME 3x3 stride 2 on 8: output 4, padding (8-1)... total 1, all of it after; padding never wins the max.
        var mp = nn.functional.max_pool2d(nn.functional.pad(h, [0, 1, 0, 1], value: double.NegativeInfinity), [3, 3], [2, 2]);
        var pd = nn.functional.pad(mp, [0, 2, 1, 0]);
        var se = nn.functional.linear(pd.mean([2, 3]), tensor(Wse.Select(v => (double)v).ToArray(), [4, 4]), tensor(Bse.Select(v => (double)v).ToArray())).sigmoid();
        var t15 = (pd * se.reshape(-1, 4, 1, 1) - tensor(Shift.Select(v => (double)v).ToArray()).reshape(1, 4, 1, 1)).relu();
        var pooled = t15.mean([2, 3]);
        var features = (cat([pooled, pooled], 1) * 2).clamp(0, 6);
        var w3 = (tensor(W3.Select(v => (double)v).ToArray(), [Classes, 8]) - W3Zero) * W3Scale;
        var b3 = tensor(B3.Select(v => v * (double)B3Scale).ToArray());
        return (nn.functional.linear(features, w3, b3).to_type(f64), features);
    }
}
