using Repro.Attacks;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

public class ThreatModelTests
{
    static IEnumerable<ThreatModel> Balls() => [new L2Ball(0.7), new LinfBall(0.05)];

    static double Norm(ThreatModel t, Tensor delta) => t is L2Ball
        ? delta.flatten(1).norm(1, p: 2).max().item<float>()
        : delta.abs().max().item<float>();

    [TestCaseSource(nameof(Balls))]
    public void ProjectionLandsInsideTheBallAndTheBox(ThreatModel threat)
    {
        using var _ = NewDisposeScope();
        manual_seed(3);
        var original = rand(5, 3, 32, 32);
        var candidate = original + randn(5, 3, 32, 32) * 2;
        var projected = threat.Project(original, candidate);
        Assert.That(Norm(threat, projected - original), Is.LessThanOrEqualTo(threat.Eps + 1e-5));
        Assert.That(projected.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(projected.max().item<float>(), Is.LessThanOrEqualTo(1f));
    }

    [Test]
    public void EveryPgdIterateStaysInsideBallAndBoxForBothNormsAndStarts(
        [Values("L2", "Linf")] string norm, [Values(false, true)] bool randomStart, [Values(1, 2, 5, 12)] int steps)
    {
        using var _ = NewDisposeScope();
        ThreatModel threat = norm == "L2" ? new L2Ball(0.5) : new LinfBall(0.03);
        var model = new TinyNet();
        manual_seed(4);
        var images = rand(4, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1, 2, 0 });
        using var result = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, threat, new AttackRun(9), new PgdOptions { Steps = steps, StepSize = threat.Eps / 3, RandomStart = randomStart });
        Assert.That(Norm(threat, result.Adversarial - images), Is.LessThanOrEqualTo(threat.Eps + 1e-5));
        Assert.That(result.Adversarial.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(result.Adversarial.max().item<float>(), Is.LessThanOrEqualTo(1f));
        var reported = norm == "L2" ? result.L2 : result.Linf;
        Assert.That(reported.max().item<float>(), Is.LessThanOrEqualTo(threat.Eps + 1e-5));
    }

    [TestCaseSource(nameof(Balls))]
    public void RandomStartIsInsideTheBallDiffersBetweenSeedsAndRepeatsForOneSeed(ThreatModel threat)
    {
        using var _ = NewDisposeScope();
        var original = full(new long[] { 3, 3, 8, 8 }, 0.5f);
        Tensor Start(ulong seed) { using var g = new Generator(seed); return threat.RandomStart(original, g); }
        var a = Start(1);
        var b = Start(2);
        var a2 = Start(1);
        Assert.That(Norm(threat, a - original), Is.LessThanOrEqualTo(threat.Eps + 1e-5));
        Assert.That(Norm(threat, a - original), Is.GreaterThan(0));
        Assert.That(a.eq(b).all().item<bool>(), Is.False, "different seeds give different starts");
        Assert.That(a.eq(a2).all().item<bool>(), Is.True, "the same seed gives the same start");
    }

    [TestCaseSource(nameof(Balls))]
    public void TheFusedStepEqualsStepThenProject(ThreatModel threat)
    {
        using var _ = NewDisposeScope();
        manual_seed(5);
        var original = rand(4, 3, 32, 32);
        var current = threat.Project(original, original + randn(4, 3, 32, 32) * 0.05f);
        var gradient = randn(4, 3, 32, 32);
        foreach (double step in new[] { 0.3, -0.3, 0.01 })
        {
            var expected = threat.Project(original, threat.Step(current, gradient, step));
            var fused = threat.StepAndProject(original, current, gradient.clone(), step);
            Assert.That((fused - expected).abs().max().item<float>(), Is.LessThan(1e-5f), $"step {step}");
        }
    }

    [Test]
    public void UnconstrainedOnlyClipsToTheBox()
    {
        using var _ = NewDisposeScope();
        var t = new Unconstrained();
        var original = full(new long[] { 1, 3, 4, 4 }, 0.5f);
        var far = original + 0.4f;
        Assert.That(t.Project(original, far).allclose(far), Is.True);
        Assert.That(t.Project(original, original + 2).max().item<float>(), Is.EqualTo(1f));
    }

    [Test]
    public void InvalidEpsIsRejectedWithItsValue()
    {
        var e = Assert.Throws<ReproInputException>(() => new L2Ball(0));
        Assert.That(e!.Message, Does.Contain("eps"));
        Assert.Throws<ReproInputException>(() => new LinfBall(-1));
        Assert.Throws<ReproInputException>(() => new PgdOptions { Steps = 0 }.Validate());
    }
}
