using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>The L-infinity ball of radius eps: steps along the sign of the gradient.</summary>
public sealed class LinfBall : ThreatModel
{
    /// <summary>An L-infinity ball of radius <paramref name="eps"/>.</summary>
    /// <param name="eps">Radius in [0,1] pixel units (each pixel may move by at most eps).</param>
    /// <exception cref="ReproInputException"><paramref name="eps"/> is not positive and finite.</exception>
    public LinfBall(double eps)
    {
        RequirePositive(eps);
        Eps = eps;
    }

    /// <inheritdoc/>
    public override double Eps { get; }
    /// <summary>"Linf".</summary>
    public override string Name => "Linf";

    /// <summary>Clamps each pixel of <paramref name="candidate"/> to [original − eps, original + eps] ∩ [0,1].</summary>
    public override Tensor Project(Tensor original, Tensor candidate)
    {
        using var scope = NewDisposeScope();
        return minimum(maximum(candidate, original - Eps), original + Eps).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>images + stepSize·sign(gradient), not yet projected.</summary>
    public override Tensor Step(Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        return (images + gradient.sign() * stepSize).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor StepAndProject(Tensor original, Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        var delta = images - original;
        delta.add_(gradient.sign_(), alpha: stepSize).clamp_(-Eps, Eps);
        return delta.add_(original).clamp_(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>sign(g): the steepest-ascent direction of L-infinity length 1.</summary>
    public override Tensor Direction(Tensor gradient) => gradient.sign_();

    /// <summary>Per-example L-infinity norm [N] of images − original.</summary>
    public override Tensor Distance(Tensor original, Tensor images)
    {
        using var scope = NewDisposeScope();
        return (images - original).abs().flatten(1).amax(1).MoveToOuterDisposeScope();
    }

    /// <summary>The original plus uniform noise in [−eps, eps] per pixel, clipped to [0,1].</summary>
    public override Tensor RandomStart(Tensor original, NoiseSource noise)
    {
        using var scope = NewDisposeScope();
        var offset = noise.Uniform(original) * (2 * Eps) - Eps;
        return (original + offset).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="ByteGrid.Linf"/>: rounded offsets clipped to the largest integer k with k/255 &lt;= eps.</summary>
    public override Tensor OntoByteGrid(Tensor original, Tensor adversarial) => ByteGrid.Linf(original, adversarial, Eps);
}
