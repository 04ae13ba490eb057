using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// No ball, only the [0,1] box (eps = infinity), with L2-normalised steps: what feature
/// visualisation uses. A random start is uniform noise over the whole box.
/// </summary>
public sealed class Unconstrained : ThreatModel
{
    public override double Eps => double.PositiveInfinity;
    public override string Name => "Unconstrained";

    public override Tensor Project(Tensor original, Tensor candidate) => candidate.clamp(0, 1);

    public override Tensor Step(Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        return (images + gradient * (stepSize / (PerExampleL2(gradient) + 1e-12))).MoveToOuterDisposeScope();
    }

    public override Tensor RandomStart(Tensor original, NoiseSource noise) => noise.Uniform(original);
}
