using Repro.Bench;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Bench;

/// <summary>The benchmark runs end to end on a small model and reports every figure (its numbers are measured by `repro bench`, not asserted here).</summary>
[NonParallelizable]
public class AttackBenchmarkTests
{
    [Test]
    public void ItReportsEveryFigureWithItsTarget()
    {
        var log = new StringWriter();
        var figures = new AttackBenchmark(new TinyNet(), batch: 2, side: TinyNet.Side, repeats: 1, rounds: 1, leakSteps: 60, log: log).Run();
        TestContext.Out.WriteLine(log.ToString());
        var names = figures.Select(f => f.Name).ToList();
        Assert.That(names, Has.Some.StartsWith("PGD step / bare"));
        Assert.That(names, Has.Some.StartsWith("SmoothGrad throughput"));
        Assert.That(names, Has.Some.StartsWith("RSS in use after 60 PGD steps"));
        Assert.That(names, Has.Some.StartsWith("APGD iteration / PGD step"));
        Assert.That(names, Has.Some.StartsWith("Square query (L2) / bare forward"));
        Assert.That(names, Has.Some.StartsWith("Square query (L-inf) / bare forward"));
        Assert.That(names, Has.Some.StartsWith("FAB-T iteration / PGD step"));
        // Finite, not positive: one round of a marginal cost ((20 steps - 1 step) / 19) on a tiny model can come out
        // negative on a busy machine; the figures' values are judged by `repro bench` over rounds, never by a test.
        Assert.That(figures.Where(f => f.Unit == "x").Select(f => f.Value), Is.All.Matches<double>(double.IsFinite));
        Assert.That(figures.Select(f => f.Target), Is.All.Not.Empty);
    }
}
