namespace Repro.Models.Tflite;

/// <summary>
/// One operator of the network's body as <see cref="TfliteNetwork"/> runs it: a layer (a
/// convolution or pooling module, by its index in the network's layer list) applied to one
/// activation tensor, or an ADD of two (<see cref="Layer"/> = -1) with its fused activation.
/// Tensors are named by their index in the file, so residual connections need no special case.
/// </summary>
public sealed record TfliteStep(TfliteOperator Operator, int Layer, int[] Inputs, int Output, TfliteActivation Activation)
{
    public bool IsAdd => Layer < 0;
}
