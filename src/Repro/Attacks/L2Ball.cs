using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The L2 ball of radius eps: steps along the gradient scaled to unit L2 norm per example (norms in
/// at least float32, so float16/bfloat16 steps never divide 0 by 0).
/// </summary>
public sealed class L2Ball : ThreatModel
{
    /// <summary>An L2 ball of radius <paramref name="eps"/>.</summary>
    /// <param name="eps">Radius in [0,1] pixel units: the L2 norm of the whole perturbation, per example.</param>
    /// <exception cref="ReproInputException"><paramref name="eps"/> is not positive and finite.</exception>
    public L2Ball(double eps)
    {
        RequirePositive(eps);
        Eps = eps;
    }

    /// <inheritdoc/>
    public override double Eps { get; }
    /// <summary>"L2".</summary>
    public override string Name => "L2";

    /// <summary>Scales each perturbation whose L2 norm exceeds eps back to norm eps, then clips to [0,1].</summary>
    public override Tensor Project(Tensor original, Tensor candidate)
    {
        using var scope = NewDisposeScope();
        var delta = candidate - original;
        // Scale down only the deltas outside the ball; then clipping to the box can only shrink
        // each coordinate's distance to the original (which is inside the box), so the norm stays <= eps.
        var factor = (Eps / (PerExampleL2(delta) + 1e-12)).clamp_max(1.0);
        return (original + (delta * factor).to_type(delta.dtype)).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>images + the gradient scaled per example to L2 length stepSize (0 where the gradient is 0), not yet projected.</summary>
    public override Tensor Step(Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        return (images + L2Step(gradient, stepSize)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor StepAndProject(Tensor original, Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        var delta = images - original;
        delta.add_(IsHalf(gradient) ? L2Step(gradient, stepSize) : gradient.mul_(stepSize / (PerExampleL2(gradient) + 1e-12)));
        delta.mul_((Eps / (PerExampleL2(delta) + 1e-12)).clamp_max_(1.0));
        return delta.add_(original).clamp_(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>A point uniform in the L2 ball (a uniform direction times eps·U^(1/d)), clipped to [0,1]; drawn in float32 for half-precision images.</summary>
    public override Tensor RandomStart(Tensor original, NoiseSource noise)
    {
        using var scope = NewDisposeScope();
        // Uniform in the d-ball: a uniform direction (normalised Gaussian) times eps * U^(1/d).
        // Drawn in float32 for half-precision images (a float16 u^(1/d) and unit direction lose the radius).
        var work = IsHalf(original) ? original.to_type(ScalarType.Float32) : original;
        var direction = noise.Normal(work);
        direction /= PerExampleL2(direction) + 1e-12;
        double d = original[0].numel();
        var u = noise.UniformPerExample(work);
        var radius = (u.pow(1.0 / d) * Eps).reshape(BroadcastShape(original));
        return (work + direction * radius).clamp(0, 1).to_type(original.dtype).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="ByteGrid.L2"/>: integer offsets of L2 norm at most 255·eps, rounded toward zero then up by largest remainder.</summary>
    public override Tensor OntoByteGrid(Tensor original, Tensor adversarial) => ByteGrid.L2(original, adversarial, Eps);
}
