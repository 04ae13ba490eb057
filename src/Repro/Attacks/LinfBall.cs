using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>The L-infinity ball of radius eps: steps along the sign of the gradient.</summary>
public sealed class LinfBall : ThreatModel
{
    public LinfBall(double eps)
    {
        RequirePositive(eps);
        Eps = eps;
    }

    public override double Eps { get; }
    public override string Name => "Linf";

    public override Tensor Project(Tensor original, Tensor candidate)
    {
        using var scope = NewDisposeScope();
        return minimum(maximum(candidate, original - Eps), original + Eps).clamp(0, 1).MoveToOuterDisposeScope();
    }

    public override Tensor Step(Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        return (images + gradient.sign() * stepSize).MoveToOuterDisposeScope();
    }

    public override Tensor StepAndProject(Tensor original, Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        var delta = images - original;
        delta.add_(gradient.sign_(), alpha: stepSize).clamp_(-Eps, Eps);
        return delta.add_(original).clamp_(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>sign(g): the steepest-ascent direction of L-infinity length 1.</summary>
    public override Tensor Direction(Tensor gradient) => gradient.sign_();

    public override Tensor Distance(Tensor original, Tensor images)
    {
        using var scope = NewDisposeScope();
        return (images - original).abs().flatten(1).amax(1).MoveToOuterDisposeScope();
    }

    public override Tensor RandomStart(Tensor original, NoiseSource noise)
    {
        using var scope = NewDisposeScope();
        var offset = noise.Uniform(original) * (2 * Eps) - Eps;
        return (original + offset).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="ByteGrid.Linf"/>: rounded offsets clipped to the largest integer k with k/255 &lt;= eps.</summary>
    public override Tensor OntoByteGrid(Tensor original, Tensor adversarial) => ByteGrid.Linf(original, adversarial, Eps);
}
