namespace Repro.Models.Tflite;

/// <summary>
/// Affine quantisation of a tensor: real = (q - ZeroPoint) * Scale. One scale and zero point per
/// tensor, or one per slice along <see cref="QuantizedDimension"/> (per-channel weights).
/// </summary>
internal sealed record TfliteQuantization(float[] Scale, long[] ZeroPoint, int QuantizedDimension)
{
    public bool IsPerTensor => Scale.Length == 1;
}

/// <summary>
/// One tensor of the graph as the file describes it: its shape (TensorFlow's NHWC order for
/// images, OHWI for convolution weights), element type, constant data (empty for activations)
/// and quantisation (null when the tensor is not quantised).
/// </summary>
internal sealed record TfliteTensor(int Index, string Name, int[] Shape, TfliteTensorType Type, ReadOnlyMemory<byte> Data, TfliteQuantization? Quantization)
{
    /// <summary>Weights and biases carry data; activations are computed, so their buffer is empty.</summary>
    public bool IsConstant => !Data.IsEmpty;

    /// <summary>The product of the shape, or -1 for a negative dimension or a product past 2^40 (a damaged file).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Shape)
            {
                if (d < 0 || d > 0 && n > (1L << 40) / d) return -1;
                n *= d;
            }
            return n;
        }
    }

    public string Describe() => $"tensor {Index} '{Name}' {TfliteNames.Of(Type)} [{string.Join(",", Shape)}]";
}
