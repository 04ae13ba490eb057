namespace Repro.Models.Tflite;

/// <summary>
/// Affine quantisation of a tensor: real = (q - ZeroPoint) * Scale. One scale and zero point per
/// tensor, or one per slice along <see cref="QuantizedDimension"/> (per-channel weights).
/// </summary>
public sealed record TfliteQuantization(float[] Scale, long[] ZeroPoint, int QuantizedDimension)
{
    public bool IsPerTensor => Scale.Length == 1;
}

/// <summary>
/// One tensor of the graph as the file describes it: its shape (TensorFlow's NHWC order for
/// images, OHWI for convolution weights), element type, constant data (empty for activations)
/// and quantisation (null when the tensor is not quantised).
/// </summary>
public sealed record TfliteTensor(int Index, string Name, int[] Shape, TfliteTensorType Type, ReadOnlyMemory<byte> Data, TfliteQuantization? Quantization)
{
    /// <summary>Weights and biases carry data; activations are computed, so their buffer is empty.</summary>
    public bool IsConstant => !Data.IsEmpty;

    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);

    public string Describe() => $"tensor {Index} '{Name}' {TfliteNames.Of(Type)} [{string.Join(",", Shape)}]";
}
