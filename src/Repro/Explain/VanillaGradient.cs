using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>The plain input gradient of the target score (Simonyan et al. 2013): the tutorial's "saliency map".</summary>
public sealed class VanillaGradient(nn.Module<Tensor, Tensor> model) : IAttribution
{
    readonly nn.Module<Tensor, Tensor> model = Guard.NotNull(model);

    /// <summary>The gradient [N,C,H,W] of the target score with respect to the images (parameters frozen meanwhile).</summary>
    /// <param name="images">Images [N,C,H,W], float (in [0,1], or noisy copies of such images inside SmoothGrad).</param>
    /// <param name="target">The per-example score to differentiate.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ReproArgumentException"><paramref name="images"/> is not a float [N,C,H,W] batch.</exception>
    public Tensor Attribute(Tensor images, AttributionTarget target)
    {
        Guard.NotNull(images);
        Guard.NotNull(target);
        if (images.dim() != 4 || !images.is_floating_point()) throw new ReproArgumentException(nameof(images), $"images must be float [N,C,H,W], got {images.dtype} [{string.Join(",", images.shape)}]");
        using var frozen = new FrozenParameters([model]);
        using var scope = NewDisposeScope();
        var input = images.detach().requires_grad_(true);
        var score = target.Score(model.forward(input));
        return InputGradient.Of(score.sum(), input).MoveToOuterDisposeScope();
    }
}
