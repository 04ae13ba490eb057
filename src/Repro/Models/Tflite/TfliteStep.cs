using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// How the float program holds a TFLite tensor: in the file's own axis order (TensorFlow's NHWC
/// for images), or, for 4-D activations between convolutions and pooling, as NCHW (torch's layout),
/// so that no copy is needed around each convolution. Operators that depend on axis order (reshape,
/// fully connected, squeeze, softmax) see their inputs in the file's order.
/// </summary>
internal enum TfLayout
{
    Native,
    Nchw,
}

/// <summary>
/// One operator of the float program as <see cref="TfliteNetwork"/> runs it: the file's operator,
/// the tensors it reads (activations and constants, by their index in the file) and writes, and the
/// function that computes its output from its inputs (held as the program's layouts say).
/// </summary>
internal sealed record TfliteStep(TfliteOperator Operator, int[] Inputs, int Output, Func<Tensor[], Tensor> Apply)
{
    public bool IsAdd => Operator.Code == TfliteOperatorCode.ADD;
}
