using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>The plain input gradient of the target score (Simonyan et al. 2013): the tutorial's "saliency map".</summary>
public sealed class VanillaGradient(nn.Module<Tensor, Tensor> model) : IAttribution
{
    /// <summary>The gradient [N,C,H,W] of the target score with respect to the images (parameters frozen meanwhile).</summary>
    public Tensor Attribute(Tensor images, AttributionTarget target)
    {
        using var frozen = new FrozenParameters([model]);
        using var scope = NewDisposeScope();
        var input = images.detach().requires_grad_(true);
        var score = target.Score(model.forward(input));
        return InputGradient.Of(score.sum(), input).MoveToOuterDisposeScope();
    }
}
