using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>The gradient of a scalar with respect to an input tensor, as an independent tensor.</summary>
public static class InputGradient
{
    /// <summary>
    /// d(<paramref name="scalar"/>)/d(<paramref name="input"/>). The result is cloned while the graph
    /// is still alive: measured here with TorchSharp 0.107, the tensor that autograd.grad returns
    /// could change after the graph's tensors were released (two identical calls disagreed by 40%,
    /// or read NaN); a copy taken at once was stable in every arrangement of scopes we tried.
    /// The copy costs one input-sized memcpy, negligible next to the backward pass.
    /// </summary>
    public static Tensor Of(Tensor scalar, Tensor input)
    {
        var gradients = autograd.grad([scalar], [input]);
        var gradient = gradients[0].clone();
        foreach (var g in gradients) g.Dispose();
        return gradient;
    }
}
