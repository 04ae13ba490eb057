using System.Text.Json;
using Repro.Attacks;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

public class SquareTests
{
    [Test]
    public void TheScheduleOfPIsThePublishedOneRescaledToTheBudget()
    {
        var tenThousand = new SquareOptions { Queries = 10000 };
        Assert.That(new[] { 0, 10, 11, 50, 51, 200, 201, 500, 501, 1000, 1001, 2000, 2001, 4000, 4001, 6000, 6001, 8000, 8001, 9999 }.Select(tenThousand.P),
            Is.EqualTo(new[] { 0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625, 0.00625, 0.003125, 0.003125, 0.0015625, 0.0015625 }).Within(1e-12));
        var thousand = new SquareOptions { Queries = 1000 };
        Assert.That(thousand.P(5), Is.EqualTo(0.4).Within(1e-12), "query 5 of 1,000 counts as query 50 of 10,000");
        Assert.That(thousand.P(6), Is.EqualTo(0.2).Within(1e-12), "query 6 of 1,000 counts as query 60 of 10,000");
    }

    [Test]
    public void EveryProposalStaysInTheBallAndTheBoxAndTheLossNeverGetsWorse([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(31);
        var images = rand(6, 3, 32, 32);
        Tensor labels;
        using (no_grad()) labels = model.forward(images).argmax(1);
        ThreatModel threat = norm == "L2" ? new L2Ball(0.5) : new LinfBall(4 / 255.0);
        var objective = new MarginObjective(model, labels);
        double previous = double.NegativeInfinity;
        foreach (int queries in new[] { 0, 5, 50, 200 })
        {
            using var result = Square.Run(objective, images, threat, new AttackRun(2), new SquareOptions { Queries = queries });
            Assert.That(threat.Distance(images, result.Adversarial).max().item<float>(), Is.LessThanOrEqualTo((float)threat.Eps * 1.0001f + 1e-6f));
            Assert.That(result.Adversarial.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
            Assert.That(result.Adversarial.max().item<float>(), Is.LessThanOrEqualTo(1f));
            double loss = result.Loss.sum().item<float>();
            TestContext.Out.WriteLine($"{norm}, {queries} queries: summed margin {loss:F4}, fooled {result.Success.sum().item<long>()} of 6");
            Assert.That(loss, Is.GreaterThanOrEqualTo(previous - 1e-5), "more queries never make the kept loss worse");
            previous = loss;
        }
    }

    [Test]
    public void TheSameSeedRepeatsAndAnotherDoesNot()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(32);
        var images = rand(3, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1, 2 });
        AttackResult Run(long seed) => Square.Run(new MarginObjective(model, labels), images, new L2Ball(0.5), new AttackRun(seed), new SquareOptions { Queries = 20 });
        using var a = Run(1);
        using var b = Run(1);
        using var c = Run(2);
        Assert.That(a.Adversarial.eq(b.Adversarial).all().item<bool>(), Is.True);
        Assert.That(a.Adversarial.eq(c.Adversarial).all().item<bool>(), Is.False);
    }

    [Test]
    public void OnlyBallsAndImagesAreAccepted()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        var labels = tensor(new long[] { 0 });
        Assert.Throws<ReproInputException>(() => Square.Run(new MarginObjective(model, labels), rand(1, 3, 32, 32), new Unconstrained(), new AttackRun(0), new SquareOptions { Queries = 1 }));
    }

    /// <summary>
    /// The L2 window pattern (the double bump of nested rectangles) against the reference
    /// implementation's <c>SquareAttack.eta(s)</c> (fra31/auto-attack, float32; fixture written by
    /// fixtures/make_square_patterns.py) for even and odd sides, from 1 to 44 (the start's window on a
    /// 224×224 image). (The reference turns it by a quarter at random; Repro per example, by transposing this one.)
    /// </summary>
    [Test]
    public void TheL2PatternIsTheReferenceImplementations()
    {
        using var _ = NewDisposeScope();
        using var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Attacks", "fixtures", "square-l2-patterns.json")));
        int compared = 0;
        foreach (var side in file.RootElement.GetProperty("patterns").EnumerateObject())
        {
            long s = long.Parse(side.Name);
            var expected = tensor(side.Value.EnumerateArray().Select(v => v.GetSingle()).ToArray()).reshape(s, s);
            var pattern = Square.Pattern(s, CPU, ScalarType.Float32);
            Assert.That(pattern.shape, Is.EqualTo(new[] { s, s }), $"side {s}");
            double error = (pattern - expected).abs().max().item<float>();
            Assert.That(error, Is.LessThan(1e-6), $"side {s}: largest difference from the reference {error:E2}");
            Assert.That(pattern.square().sum().item<float>(), Is.EqualTo(1f).Within(1e-5f), $"side {s}: unit L2 norm");
            compared++;
        }
        Assert.That(compared, Is.EqualTo(13), "every side in the fixture");
    }

    /// <summary>
    /// Each half of the pattern is built per distance from the centre (O(a·b)); this lays the rings
    /// down one after another, as the paper describes them and the reference does, and asks for the
    /// same values to the bit, for every block of 0-30 rows and 1-60 columns (the halves of sides up to 60).
    /// </summary>
    [Test]
    public void TheL2PatternsHalvesAreTheRingByRingDefinitionToTheBit()
    {
        for (long a = 0; a <= 30; a++)
            for (long b = 1; b <= 60; b++)
                Assert.That(Square.Bumps(a, b), Is.EqualTo(RingByRing(a, b)), $"{a}x{b}");
    }

    /// <summary>Ring k (side 2k+1 centred at (a/2, b/2), clipped to the a×b block) adds 1/(k+1)², for k = 0 .. max(a/2, b/2); then unit L2 norm.</summary>
    static double[,] RingByRing(long a, long b)
    {
        var d = new double[a, b];
        if (a == 0) return d;
        long ca = a / 2 + 1, cb = b / 2 + 1;
        for (long k = 0; k < Math.Max(ca, cb); k++)
            for (long i = Math.Max(ca - 1 - k, 0); i < Math.Min(ca + k, a); i++)
                for (long j = Math.Max(cb - 1 - k, 0); j < Math.Min(cb + k, b); j++)
                    d[i, j] += 1.0 / ((k + 1) * (k + 1));
        double sum = 0;
        foreach (double v in d) sum += v * v;
        double norm = Math.Sqrt(sum);
        for (long i = 0; i < a; i++) for (long j = 0; j < b; j++) d[i, j] /= norm;
        return d;
    }
}
