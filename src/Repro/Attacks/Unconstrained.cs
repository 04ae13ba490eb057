using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// No ball, only the [0,1] box (eps = infinity): what feature visualisation uses, and what
/// <c>repro attack --eps inf</c> means. Steps are L2-normalised by default, or along the gradient's
/// sign (<paramref name="signSteps"/>, the L-infinity steepest ascent, for <c>--norm linf --eps inf</c>).
/// A random start is uniform noise over the whole box.
/// </summary>
public sealed class Unconstrained(bool signSteps = false) : ThreatModel
{
    /// <summary>Whether steps follow the gradient's sign (L-infinity steepest ascent) instead of its L2 direction.</summary>
    public bool SignSteps { get; } = signSteps;
    /// <summary>+infinity: no ball.</summary>
    public override double Eps => double.PositiveInfinity;
    /// <summary>"Unconstrained", or "Unconstrained (sign steps)" with <see cref="SignSteps"/>.</summary>
    public override string Name => SignSteps ? "Unconstrained (sign steps)" : "Unconstrained";

    /// <summary>Clips <paramref name="candidate"/> to [0,1] only.</summary>
    public override Tensor Project(Tensor original, Tensor candidate) => candidate.clamp(0, 1);

    /// <summary>images + stepSize·sign(gradient) with <see cref="SignSteps"/>, else + the gradient scaled per example to L2 length stepSize; not clipped.</summary>
    public override Tensor Step(Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        return (images + (SignSteps ? gradient.sign() * stepSize : L2Step(gradient, stepSize))).MoveToOuterDisposeScope();
    }

    /// <summary>Uniform noise over the whole box [0,1], independent of the original's values (drawn in float32 for half-precision images).</summary>
    public override Tensor RandomStart(Tensor original, NoiseSource noise) =>
        IsHalf(original) ? noise.Uniform(original.to_type(ScalarType.Float32)).to_type(original.dtype) : noise.Uniform(original);

    /// <summary><see cref="ByteGrid.Round"/>: only rounding to the nearest byte (the box holds by construction).</summary>
    public override Tensor OntoByteGrid(Tensor original, Tensor adversarial) => ByteGrid.Round(original, adversarial);
}
