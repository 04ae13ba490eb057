using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>The gradient of a scalar with respect to an input tensor, computing no other gradient.</summary>
public static class InputGradient
{
    /// <summary>d(<paramref name="scalar"/>)/d(<paramref name="input"/>), a tensor the caller owns.</summary>
    public static Tensor Of(Tensor scalar, Tensor input) => autograd.grad([scalar], [input])[0];
}
