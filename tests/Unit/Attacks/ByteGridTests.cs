using Repro.Attacks;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// The 8-bit projection: the result is on the k/255 grid, in [0,1], inside the ball in exact integer
/// arithmetic, and uses the budget (plain rounding when it fits).
/// </summary>
public class ByteGridTests
{
    /// <summary>Random 8-bit originals, many at 0 and 255, and a float perturbation on the ball's surface (the worst case for rounding).</summary>
    static (Tensor Original, Tensor Adversarial) Batch(ThreatModel threat, long seed)
    {
        using var g = new Generator((ulong)seed);
        var bytes = randint(0, 256, new long[] { 4, 3, 40, 40 }, generator: g).to_type(ScalarType.Float32);
        bytes[0, 0] = zeros(40, 40);
        bytes[1, 1] = full(new long[] { 40, 40 }, 255f);
        var original = bytes / 255;
        var direction = randn(new long[] { 4, 3, 40, 40 }, generator: g);
        var far = original + direction * 10; // far outside, so the projection lands on the surface
        return (original, threat.Project(original, far));
    }

    static Tensor Offsets(Tensor original, Tensor projected) =>
        ((projected.to_type(ScalarType.Float64) - original.to_type(ScalarType.Float64)) * 255).flatten(1);

    static void AssertOnGridAndInBox(Tensor image)
    {
        var scaled = image.to_type(ScalarType.Float64) * 255;
        Assert.That((scaled - scaled.round()).abs().max().item<double>(), Is.LessThan(1e-4), "on the 8-bit grid");
        Assert.That(image.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(image.max().item<float>(), Is.LessThanOrEqualTo(1f));
    }

    [TestCase(1.25)]
    [TestCase(0.5)]
    [TestCase(0.1)]
    [TestCase(0.01)]
    public void L2ProjectionStaysInside(double eps)
    {
        using var _ = NewDisposeScope();
        var threat = new L2Ball(eps);
        var (original, adversarial) = Batch(threat, 1);
        var onGrid = threat.OntoByteGrid(original, adversarial);
        AssertOnGridAndInBox(onGrid);
        var norms = Offsets(original, onGrid).round().pow(2).sum(1).sqrt().div(255);
        TestContext.Out.WriteLine($"eps {eps}: written L2 {string.Join(", ", norms.data<double>().ToArray().Select(v => v.ToString("F6")))}");
        Assert.That(norms.max().item<double>(), Is.LessThanOrEqualTo(eps), "inside the ball, exactly");
    }

    /// <summary>Where plain rounding would leave the ball (a perturbation on the sphere, several levels a pixel), the result stays inside and within 2/255 of the float norm.</summary>
    [TestCase(1.25)]
    [TestCase(0.5)]
    public void L2ProjectionUsesTheBudgetWherePlainRoundingWouldLeaveTheBall(double eps)
    {
        using var _ = NewDisposeScope();
        var threat = new L2Ball(eps);
        // Originals away from 0 and 255 and a perturbation of norm exactly eps (no box clipping): the
        // float attack's usual end point, where rounding adds ~n/12 to the squared norm.
        using var g = new Generator(6);
        var original = randint(50, 200, new long[] { 4, 3, 40, 40 }, generator: g).to_type(ScalarType.Float32) / 255;
        var direction = randn(new long[] { 4, 3, 40, 40 }, generator: g);
        var adversarial = original + direction * (eps / direction.flatten(1).norm(1, p: 2)).reshape(4, 1, 1, 1);
        var onGrid = threat.OntoByteGrid(original, adversarial);
        var written = Offsets(original, onGrid).round().pow(2).sum(1).sqrt().div(255);
        var floating = Offsets(original, adversarial).pow(2).sum(1).sqrt().div(255);
        var plainRounding = Offsets(original, adversarial).round().pow(2).sum(1).sqrt().div(255);
        for (int i = 0; i < 4; i++)
        {
            TestContext.Out.WriteLine($"eps {eps}: float {floating[i].item<double>():F6}, plain rounding {plainRounding[i].item<double>():F6}, written {written[i].item<double>():F6}");
            Assert.That(plainRounding[i].item<double>(), Is.GreaterThan(eps), "plain rounding would leave the ball");
            Assert.That(written[i].item<double>(), Is.LessThanOrEqualTo(eps).And.GreaterThan(floating[i].item<double>() - 2 / 255.0));
        }
    }

    [Test]
    public void L2ProjectionIsPlainRoundingWhenThatFits()
    {
        using var _ = NewDisposeScope();
        var threat = new L2Ball(50);
        var (original, adversarial) = Batch(new L2Ball(1), 2);
        var onGrid = threat.OntoByteGrid(original, adversarial);
        var rounded = (adversarial.to_type(ScalarType.Float64) * 255).round() / 255;
        Assert.That((onGrid.to_type(ScalarType.Float64) - rounded).abs().max().item<double>(), Is.LessThan(1e-6));
    }

    [TestCase(0.03, 7)]
    [TestCase(8 / 255.0, 8)]
    [TestCase(0.0015, 0)]
    [TestCase(1 / 255.0, 1)]
    [TestCase(0.5, 127)]
    public void LinfProjectionClipsToWholeLevels(double eps, int levels)
    {
        using var _ = NewDisposeScope();
        Assert.That(ByteGrid.LinfSteps(eps), Is.EqualTo(levels));
        var threat = new LinfBall(eps);
        var (original, adversarial) = Batch(threat, 3);
        var onGrid = threat.OntoByteGrid(original, adversarial);
        AssertOnGridAndInBox(onGrid);
        var largest = Offsets(original, onGrid).round().abs().max().item<double>();
        Assert.That(largest, Is.EqualTo(levels), "offsets reach, never pass, the last whole level");
        Assert.That(largest / 255, Is.LessThanOrEqualTo(eps));
    }

    [Test]
    public void UnconstrainedProjectionOnlyRounds()
    {
        using var _ = NewDisposeScope();
        var (original, adversarial) = Batch(new LinfBall(0.4), 4);
        var onGrid = new Unconstrained().OntoByteGrid(original, adversarial);
        var rounded = (adversarial.to_type(ScalarType.Float64) * 255).round() / 255;
        Assert.That((onGrid.to_type(ScalarType.Float64) - rounded).abs().max().item<double>(), Is.LessThan(1e-6));
    }

    [Test]
    public void HalfPrecisionAdversarialImagesAreProjectedToo()
    {
        using var _ = NewDisposeScope();
        var threat = new L2Ball(0.5);
        var (original, adversarial) = Batch(threat, 5);
        var onGrid = threat.OntoByteGrid(original, adversarial.to_type(ScalarType.Float16));
        Assert.That(onGrid.dtype, Is.EqualTo(ScalarType.Float16));
        var norms = Offsets(original, onGrid).round().pow(2).sum(1).sqrt().div(255);
        Assert.That(norms.max().item<double>(), Is.LessThanOrEqualTo(0.5));
    }

    [Test]
    public void OriginalsOffTheGridAreRefused()
    {
        using var _ = NewDisposeScope();
        var original = full(new long[] { 1, 3, 4, 4 }, 0.5f); // 127.5/255
        Assert.Throws<ArgumentException>(() => new L2Ball(1).OntoByteGrid(original, original));
    }
}
