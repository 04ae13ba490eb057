using System.Buffers.Binary;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// Constant tensors of the file as float32 torch tensors, in the file's own layout (OHWI for
/// convolution weights, [1,H,W,C] for depthwise ones): real = (q - zero_point) * scale, per tensor
/// or per channel along the quantised dimension. uint8/int8 weights and int32 biases (whose scale
/// is input scale * weight scale, stored on the bias itself) are dequantised; float32 is copied.
/// </summary>
internal static class TfliteWeights
{
    public static Tensor ToFloat(TfliteTensor t, string source)
    {
        if (!t.IsConstant) throw new ReproInputException($"{source}: {t.Describe()} should hold constant weights but has no data");
        long count = t.ElementCount;
        int elementSize = t.Type switch
        {
            TfliteTensorType.FLOAT32 or TfliteTensorType.INT32 => 4,
            TfliteTensorType.FLOAT16 => 2,
            TfliteTensorType.UINT8 or TfliteTensorType.INT8 => 1,
            _ => throw new ReproInputException($"{source}: {t.Describe()}: weights of type {TfliteNames.Of(t.Type)} are not supported (expected UINT8, INT8, INT32, FLOAT16 or FLOAT32)"),
        };
        if (t.Data.Length != count * elementSize)
            throw new ReproInputException($"{source}: {t.Describe()} should hold {count * elementSize} bytes but its buffer has {t.Data.Length}");

        var span = t.Data.Span;
        var raw = new float[count];
        for (int i = 0; i < count; i++)
            raw[i] = t.Type switch
            {
                TfliteTensorType.UINT8 => span[i],
                TfliteTensorType.INT8 => (sbyte)span[i],
                TfliteTensorType.INT32 => BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]),
                TfliteTensorType.FLOAT16 => (float)BinaryPrimitives.ReadHalfLittleEndian(span[(2 * i)..]),
                _ => BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]),
            };

        if (t.Type is not (TfliteTensorType.FLOAT32 or TfliteTensorType.FLOAT16))
        {
            var q = t.Quantization ?? throw new ReproInputException($"{source}: {t.Describe()} is an integer tensor without quantisation parameters");
            Dequantize(raw, t.Shape, q, source, t);
        }
        return tensor(raw, t.Shape.Select(d => (long)d).ToArray());
    }

    /// <summary>A constant INT32 or INT64 tensor (shapes, axes, paddings) as longs.</summary>
    public static long[] Integers(TfliteTensor t, string source)
    {
        if (!t.IsConstant) throw new ReproInputException($"{source}: {t.Describe()} should be a constant (shape, axes or paddings) but has no data");
        int size = t.Type switch
        {
            TfliteTensorType.INT32 => 4,
            TfliteTensorType.INT64 => 8,
            _ => throw new ReproInputException($"{source}: {t.Describe()} should hold INT32 or INT64 values"),
        };
        long count = t.ElementCount;
        if (count > 1 << 16 || t.Data.Length != count * size)
            throw new ReproInputException($"{source}: {t.Describe()} should hold {count * size} bytes but its buffer has {t.Data.Length}");
        var span = t.Data.Span;
        var values = new long[count];
        for (int i = 0; i < count; i++)
            values[i] = size == 4 ? BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]) : BinaryPrimitives.ReadInt64LittleEndian(span[(8 * i)..]);
        return values;
    }

    static void Dequantize(float[] values, int[] shape, TfliteQuantization q, string source, TfliteTensor t)
    {
        if (q.IsPerTensor)
        {
            float scale = q.Scale[0], zero = q.ZeroPoint[0];
            for (int i = 0; i < values.Length; i++) values[i] = (values[i] - zero) * scale;
            return;
        }
        int axis = q.QuantizedDimension;
        if (axis < 0 || axis >= shape.Length || shape[axis] != q.Scale.Length)
            throw new ReproInputException($"{source}: {t.Describe()} has {q.Scale.Length} scales along dimension {axis}, which does not match its shape");
        // Element i's channel along `axis`: (i / stride) % size, with stride = product of later dimensions.
        long stride = shape.Skip(axis + 1).Aggregate(1L, (n, d) => n * d);
        for (int i = 0; i < values.Length; i++)
        {
            int c = (int)(i / stride % shape[axis]);
            values[i] = (values[i] - q.ZeroPoint[c]) * q.Scale[c];
        }
    }
}
