using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>The fused activations of TFLite operators, in float (no clamping to quantisation ranges).</summary>
internal static class TfActivation
{
    public static bool IsSupported(TfliteActivation activation) =>
        activation is TfliteActivation.NONE or TfliteActivation.RELU or TfliteActivation.RELU6 or TfliteActivation.RELU_N1_TO_1 or TfliteActivation.TANH;

    public static Tensor Apply(Tensor x, TfliteActivation activation) => activation switch
    {
        TfliteActivation.NONE => x,
        TfliteActivation.RELU => nn.functional.relu(x),
        TfliteActivation.RELU6 => nn.functional.relu6(x),
        TfliteActivation.RELU_N1_TO_1 => x.clamp(-1.0, 1.0),
        TfliteActivation.TANH => x.tanh(),
        _ => throw new ArgumentException($"unsupported fused activation {activation}"),
    };
}
