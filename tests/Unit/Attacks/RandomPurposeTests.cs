using Repro.Attacks;
using Repro.Explain;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// No two uses of randomness share a stream: every key that PGD's restarts, APGD's and APGD-T's
/// starts, Square's start and queries, SmoothGrad's copies, feature visualisation and FAB draw from,
/// for the same seed and example, is different — and the attacks draw from the keys the registry
/// documents (checked against a random start computed by hand from <see cref="RandomStreams"/>).
/// </summary>
public class RandomPurposeTests
{
    const long Seed = 0;
    static readonly long[] Ids = [0, 1, 2, 3, ExampleIds.OfName("cat/0001.jpg")];

    /// <summary>Every key one example's random numbers come from, with what it is for.</summary>
    static IEnumerable<(string Use, long Key)> KeysOf(long id)
    {
        // A start's noise is drawn from sub-streams 0 (normal), 1 (uniform) and 2 (per-example uniform) of its key.
        IEnumerable<(string, long)> Start(string use, long key) => SubStreams(key, 3).Select((k, s) => ($"{use}, sub-stream {s}", k));
        for (int restart = 0; restart < 20; restart++)
        {
            foreach (var k in Start($"PGD restart {restart}", RandomStreams.Key(Seed, RandomPurpose.PgdStart, id, restart))) yield return k;
            foreach (var k in Start($"APGD restart {restart}", RandomStreams.Key(Seed, RandomPurpose.ApgdStart, id, restart))) yield return k;
            foreach (var k in Start($"feature visualisation restart {restart}", RandomStreams.Key(Seed, RandomPurpose.FeatureVisualisationStart, id, restart))) yield return k;
            for (int rank = 0; rank < 9; rank++)
            {
                foreach (var k in Start($"APGD-T target {rank} restart {restart}", RandomStreams.Key(Seed, RandomPurpose.ApgdTargetedStart, id, rank, restart))) yield return k;
                yield return ($"FAB target {rank} restart {restart}", RandomStreams.Key(Seed, RandomPurpose.FabStart, id, rank, restart));
            }
        }
        yield return ("Square start", RandomStreams.Key(Seed, RandomPurpose.SquareStart, id));
        foreach (var (k, q) in SubStreams(RandomStreams.Key(Seed, RandomPurpose.SquareQuery, id), 5000).Select((k, q) => (k, q)))
            yield return ($"Square query {q}", k);
        foreach (var (k, c) in SubStreams(RandomStreams.Key(Seed, RandomPurpose.SmoothGradNoise, id), 1000).Select((k, c) => (k, c)))
            yield return ($"SmoothGrad copy {c}", k);
    }

    /// <summary>Sub-streams 0 .. count - 1 of <paramref name="key"/> (<see cref="CounterNoise.Derive"/>, as the attacks derive them).</summary>
    static long[] SubStreams(long key, long count)
    {
        using var scope = NewDisposeScope();
        var keys = full(count, key, dtype: ScalarType.Int64);
        return CounterNoise.Derive(keys, arange(count, dtype: ScalarType.Int64)).data<long>().ToArray();
    }

    [Test]
    public void EveryUseOfRandomnessHasItsOwnStream()
    {
        var all = Ids.SelectMany(id => KeysOf(id).Select(k => (Use: $"example {id}: {k.Use}", k.Key))).ToList();
        var shared = all.GroupBy(k => k.Key).Where(g => g.Count() > 1).Select(g => string.Join(" = ", g.Select(k => k.Use))).ToList();
        Assert.That(all, Has.Count.GreaterThan(10_000), "the enumeration covers every purpose");
        Assert.That(shared, Is.Empty, "uses that share a stream");
    }

    [Test]
    public void EveryPurposeHasItsOwnNumber()
    {
        var numbers = Enum.GetValues<RandomPurpose>().Select(p => (long)p).ToList();
        Assert.That(numbers, Is.Unique);
    }

    [Test]
    public void PgdsRandomStartIsTheRegistrysStream()
    {
        // One step of 1e-6: the returned iterate is the random start moved by at most 1e-6 per pixel, so the stream it came from can be checked.
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var images = rand(new long[] { 2, 3, 8, 8 }, generator: g).mul_(0.5).add_(0.25);
        var model = nn.Sequential(nn.Flatten(), nn.Linear(192, 3));
        var threat = new LinfBall(0.1);
        var ids = new long[] { 11, 12 };
        var result = Pgd.Run(CrossEntropyObjective.Untargeted(model, tensor(new long[] { 0, 1 })), images, threat, new AttackRun(5, ExampleIds: ids), new PgdOptions { Steps = 1, StepSize = 1e-6, RandomStart = true, Choice = IterateChoice.Final });
        var expected = threat.RandomStart(images, ExampleNoise.For(5, ids, RandomPurpose.PgdStart, 0));
        Assert.That(result.Adversarial.sub(expected).abs().max().item<float>(), Is.LessThan(1e-5f));
        var other = threat.RandomStart(images, ExampleNoise.For(5, ids, RandomPurpose.FeatureVisualisationStart, 0));
        Assert.That(result.Adversarial.sub(other).abs().max().item<float>(), Is.GreaterThan(1e-3f), "another purpose gives another start");
    }
}
