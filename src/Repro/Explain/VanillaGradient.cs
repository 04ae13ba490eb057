using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// The plain input gradient of the target score (Simonyan et al. 2013): the tutorial's "saliency map".
/// With a low <paramref name="precision"/> the model's forward and input-backward run in it
/// (<see cref="LowPrecision"/>); the images, the target score's reduction and the returned map are float32.
/// </summary>
/// <param name="model">The classifier: images [N,C,H,W] in [0,1] to logits.</param>
/// <param name="precision">The precision of the model's passes; default float32.</param>
public sealed class VanillaGradient(nn.Module<Tensor, Tensor> model, AttackPrecision precision = AttackPrecision.Float32) : IAttribution
{
    readonly nn.Module<Tensor, Tensor> model = Guard.NotNull(model);

    /// <summary>The precision of the model's forward and input-backward passes.</summary>
    public AttackPrecision Precision => precision;

    /// <summary>
    /// Puts the model in <see cref="Precision"/> until disposed (null for float32), so that many
    /// <see cref="Attribute"/> calls (SmoothGrad's batches) convert its weights once.
    /// </summary>
    public IDisposable? EnterPrecision() => LowPrecision.Enter([model], precision);

    /// <summary>The gradient [N,C,H,W], float32, of the target score with respect to the images (parameters frozen meanwhile).</summary>
    /// <param name="images">Images [N,C,H,W], float (in [0,1], or noisy copies of such images inside SmoothGrad).</param>
    /// <param name="target">The per-example score to differentiate.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ReproArgumentException"><paramref name="images"/> is not a float [N,C,H,W] batch.</exception>
    public Tensor Attribute(Tensor images, AttributionTarget target)
    {
        Guard.NotNull(images);
        Guard.NotNull(target);
        if (images.dim() != 4 || !images.is_floating_point()) throw new ReproArgumentException(nameof(images), $"images must be float [N,C,H,W], got {images.dtype} [{string.Join(",", images.shape)}]");
        using var low = EnterPrecision();
        using var frozen = new FrozenParameters([model]);
        using var scope = NewDisposeScope();
        var input = images.detach().requires_grad_(true);
        var score = target.Score(model.call(input));
        return InputGradient.Of(score.sum(), input).MoveToOuterDisposeScope();
    }
}
