using Repro.Attacks;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// Budgets and steps that cannot mean what was asked are refused, infinity is the Unconstrained
/// threat model by name, and L2 steps stay finite in float16 and bfloat16 (no 0/0).
/// </summary>
public class BudgetTests
{
    [TestCase(double.PositiveInfinity)]
    [TestCase(double.NaN)]
    [TestCase(-1.0)]
    [TestCase(0.0)]
    public void BallsNeedAFinitePositiveRadius(double eps)
    {
        Assert.Throws<ReproInputException>(() => new L2Ball(eps));
        Assert.Throws<ReproInputException>(() => new LinfBall(eps));
    }

    [Test]
    public void InfinityIsUnconstrainedByName()
    {
        var e = Assert.Throws<ReproInputException>(() => new LinfBall(double.PositiveInfinity))!;
        Assert.That(e.Message, Does.Contain("Unconstrained"));
        Assert.That(new Unconstrained().Eps, Is.EqualTo(double.PositiveInfinity));
        Assert.That(new Unconstrained(signSteps: true).Name, Does.Contain("sign"));
    }

    [TestCase(double.PositiveInfinity, "finite")]
    [TestCase(double.MaxValue * 10, "finite")] // what "1e400" parses to
    [TestCase(double.NaN, "step size")]
    [TestCase(-0.5, "step size")]
    public void StepSizesMustBeFinitePositiveNumbers(double step, string message)
    {
        var e = Assert.Throws<ReproInputException>(() => new PgdOptions { StepSize = step }.Validate())!;
        Assert.That(e.Message, Does.Contain(message));
    }

    [TestCase(ScalarType.Float16, 1e5, "too large")]
    [TestCase(ScalarType.Float16, 1e-9, "too small")]
    [TestCase(ScalarType.BFloat16, 1e39, "too large")]
    [TestCase(ScalarType.Float32, 1e-50, "too small")]
    [TestCase(ScalarType.Float32, 1e39, "too large")]
    public void ValuesMustBeRepresentableInTheModelsDtype(ScalarType dtype, double value, string message)
    {
        var e = Assert.Throws<ReproInputException>(() => new PgdOptions { StepSize = value }.Validate(dtype))!;
        Assert.That(e.Message, Does.Contain(message).And.Contain(dtype.ToString()));
        Assert.Throws<ReproInputException>(() => new L2Ball(value).RequireRepresentable(dtype));
    }

    [TestCase(ScalarType.Float16)]
    [TestCase(ScalarType.BFloat16)]
    [TestCase(ScalarType.Float32)]
    public void OrdinaryValuesAreRepresentable(ScalarType dtype)
    {
        new PgdOptions { StepSize = 0.5 }.Validate(dtype);
        new LinfBall(8 / 255.0).RequireRepresentable(dtype);
        new Unconstrained().RequireRepresentable(dtype);
    }

    static IEnumerable<ThreatModel> L2Steppers() => [new L2Ball(1.0), new Unconstrained()];

    /// <summary>
    /// A zero gradient (the float16 "0/0" case), a tiny one (squares underflow in float16) and a large one
    /// (squares overflow): every step is finite, and a nonzero gradient gives a step of the asked length.
    /// </summary>
    [Test]
    public void L2StepsAreSafeInHalfPrecision([Values(ScalarType.Float16, ScalarType.BFloat16)] ScalarType dtype,
        [ValueSource(nameof(L2Steppers))] ThreatModel threat, [Values(0.0, 1e-5, 1e3)] double gradientValue)
    {
        using var _ = NewDisposeScope();
        // Zero images: the step is measured without the image's own rounding (bfloat16 has 8 bits of mantissa).
        var images = zeros(new long[] { 2, 3, 16, 16 }, dtype: dtype);
        var gradient = full(new long[] { 2, 3, 16, 16 }, gradientValue).to_type(dtype);
        gradient[1] = zeros(3, 16, 16, dtype: dtype); // a zero gradient beside a nonzero one
        var stepped = threat.Step(images, gradient, 0.25);
        var fused = threat.StepAndProject(images, images, gradient.clone(), 0.25);
        using var g = new Generator(1);
        var start = threat.RandomStart(images, g);
        foreach (var (name, t) in new[] { ("Step", stepped), ("StepAndProject", fused), ("RandomStart", start), ("Project", threat.Project(images, stepped)) })
        {
            Assert.That(t.dtype, Is.EqualTo(dtype), $"{name} keeps the dtype");
            Assert.That(t.isfinite().all().item<bool>(), Is.True, $"{name} is finite");
        }
        var moved = (stepped.to_type(ScalarType.Float32) - images.to_type(ScalarType.Float32)).flatten(1).norm(1, p: 2);
        Assert.That(moved[1].item<float>(), Is.EqualTo(0f), "a zero gradient does not move");
        if (gradientValue != 0) Assert.That(moved[0].item<float>(), Is.EqualTo(0.25).Within(0.01), "a step of the asked length");
    }

    /// <summary>float32 steps are bit-for-bit what they were (the claims' numbers depend on the 1e-12 guard).</summary>
    [Test]
    public void Float32StepsAreUnchanged()
    {
        using var _ = NewDisposeScope();
        manual_seed(5);
        var images = rand(3, 3, 8, 8);
        var gradient = randn(3, 3, 8, 8);
        gradient[2] = zeros(3, 8, 8);
        var expected = images + gradient * (0.3 / (gradient.flatten(1).norm(1, keepdim: true, p: 2).reshape(3, 1, 1, 1) + 1e-12));
        Assert.That(new L2Ball(1).Step(images, gradient, 0.3).eq(expected).all().item<bool>(), Is.True);
        Assert.That(new Unconstrained().Step(images, gradient, 0.3).eq(expected).all().item<bool>(), Is.True);
    }
}
