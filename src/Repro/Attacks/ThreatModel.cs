using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The set an attack may move an image within, and how to move in it (MadryLab's AttackerStep):
/// a projection, the steepest-ascent step for the set's norm, and a random start. Every set is
/// intersected with the [0,1] image box. All operations are per example: nothing mixes the
/// examples of a batch. None of them records gradients.
/// </summary>
public abstract class ThreatModel
{
    /// <summary>Radius of the ball (+infinity for <see cref="Unconstrained"/>).</summary>
    public abstract double Eps { get; }

    /// <summary>Projects <paramref name="candidate"/> onto (ball around <paramref name="original"/>) ∩ [0,1].</summary>
    public abstract Tensor Project(Tensor original, Tensor candidate);

    /// <summary>One steepest-ascent step of length <paramref name="stepSize"/> along <paramref name="gradient"/> (not yet projected).</summary>
    public abstract Tensor Step(Tensor images, Tensor gradient, double stepSize);

    /// <summary>
    /// One PGD iteration: <see cref="Step"/> then <see cref="Project"/>. Balls override it with a
    /// fused, mostly in-place version (each full-size pass over the batch costs about as much as a
    /// millisecond of the model at ImageNet sizes, so the plain composition cost ~8% of a step).
    /// <paramref name="gradient"/> belongs to the caller and may be overwritten.
    /// </summary>
    public virtual Tensor StepAndProject(Tensor original, Tensor images, Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        return Project(original, Step(images, gradient, stepSize)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A point drawn uniformly from the ball around each example of <paramref name="original"/>,
    /// then clipped to the box, with the random numbers of <paramref name="noise"/> (per example
    /// with <see cref="ExampleNoise"/>).
    /// </summary>
    public abstract Tensor RandomStart(Tensor original, NoiseSource noise);

    /// <summary>The same from one CPU generator drawn in batch order (<see cref="GeneratorNoise"/>: depends on the batch).</summary>
    public Tensor RandomStart(Tensor original, Generator generator) => RandomStart(original, new GeneratorNoise(generator));

    /// <summary>
    /// The steepest-ascent direction of unit length in the set's norm, per example (L2: g/‖g‖₂;
    /// L-inf: sign(g)): a step of size η is images + η·direction. APGD scales it by a per-example
    /// step size. <paramref name="gradient"/> belongs to the caller and may be overwritten.
    /// </summary>
    public virtual Tensor Direction(Tensor gradient)
    {
        using var scope = NewDisposeScope();
        return gradient.div_(PerExampleL2(gradient).add_(1e-12)).MoveToOuterDisposeScope();
    }

    /// <summary>Per-example size [N] of the perturbation images - original in the set's norm (L2 unless the set says otherwise).</summary>
    public virtual Tensor Distance(Tensor original, Tensor images)
    {
        using var scope = NewDisposeScope();
        return (images - original).flatten(1).norm(1, p: 2).MoveToOuterDisposeScope();
    }

    /// <summary>Short name for reports and messages ("L2", "Linf", "Unconstrained").</summary>
    public abstract string Name { get; }

    /// <summary>The name and radius, e.g. "L2(eps=0.5)".</summary>
    public override string ToString() => $"{Name}(eps={Eps})";

    /// <summary>
    /// Per-example L2 norms of a batch, shaped [N,1,1,...] for broadcasting. Half-precision batches
    /// (float16, bfloat16) are measured in float32: a float16 sum of squares overflows past 65504 and
    /// underflows below 6e-8, and the 1e-12 guard the steps add is 0 in float16 (0/0 = NaN on a zero
    /// gradient). The result is then float32, and so is every factor computed from it; multiplying a
    /// half tensor in place by it keeps the half dtype. float32 and float64 are unchanged.
    /// </summary>
    protected static Tensor PerExampleL2(Tensor t) =>
        (IsHalf(t) ? t.to_type(ScalarType.Float32) : t).flatten(1).norm(1, keepdim: true, p: 2).reshape(BroadcastShape(t));

    /// <summary>Whether <paramref name="t"/> is float16 or bfloat16.</summary>
    protected static bool IsHalf(Tensor t) => t.dtype is ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary><paramref name="gradient"/> scaled per example to L2 length <paramref name="stepSize"/> (0 where it is 0), in the gradient's dtype.</summary>
    protected static Tensor L2Step(Tensor gradient, double stepSize)
    {
        using var scope = NewDisposeScope();
        var factor = stepSize / (PerExampleL2(gradient) + 1e-12);
        return (IsHalf(gradient) ? (gradient.to_type(ScalarType.Float32) * factor).to_type(gradient.dtype) : gradient * factor).MoveToOuterDisposeScope();
    }

    /// <summary>[N,1,1,...] with <paramref name="t"/>'s rank and first dimension: the shape that broadcasts a per-example [N] value over t.</summary>
    internal static long[] BroadcastShape(Tensor t)
    {
        var shape = new long[t.dim()];
        Array.Fill(shape, 1L);
        shape[0] = t.shape[0];
        return shape;
    }

    /// <summary>Radii must be positive and finite: an infinite radius is <see cref="Unconstrained"/>, said so by name.</summary>
    protected static void RequirePositive(double eps)
    {
        if (!(eps > 0) || double.IsNaN(eps)) throw new ReproInputException($"eps must be > 0, got {eps}");
        if (double.IsInfinity(eps)) throw new ReproInputException("eps must be finite (for no bound use the Unconstrained threat model: --eps inf)");
    }

    /// <summary>
    /// Throws <see cref="ReproInputException"/> naming <paramref name="name"/> unless eps is representable
    /// in <paramref name="dtype"/> (finite and not rounded to 0), so an attack in that dtype means what was asked.
    /// </summary>
    public void RequireRepresentable(ScalarType dtype, string name = "eps")
    {
        if (!double.IsPositiveInfinity(Eps)) PgdOptions.RequireRepresentable(name, Eps, dtype);
    }

    /// <summary>
    /// The adversarial images moved onto the 8-bit grid (k/255) while staying inside this threat
    /// model's ball around <paramref name="original"/> in exact integer arithmetic, so that a PNG of
    /// them is within the budget. See <see cref="ByteGrid"/>.
    /// </summary>
    public abstract Tensor OntoByteGrid(Tensor original, Tensor adversarial);
}
