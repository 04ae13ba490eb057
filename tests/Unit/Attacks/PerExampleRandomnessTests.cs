using Repro.Attacks;
using Repro.Explain;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// An example's random numbers depend only on the seed and its id, so its result is the same
/// attacked alone, in a batch of 8, in reversed order (and so on any number of shards) — bitwise on
/// the CPU, with a model whose per-example arithmetic does not depend on the batch (<see cref="RowwiseNet"/>).
/// </summary>
public class PerExampleRandomnessTests
{
    static readonly long[] Ids = [101, 7, 3_000_000_019, 42, 5, 77, 1_234_567, 9];

    static (Tensor Images, Tensor Labels) Batch()
    {
        using var g = new Generator(17);
        return (rand(new long[] { 8, 3, 32, 32 }, generator: g), tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 }));
    }

    /// <summary>Runs <paramref name="attack"/> on rows (in that order) and returns the result rows in the original order.</summary>
    static Tensor Adversarial(Func<Tensor, Tensor, long[]?, Tensor> attack, int[] rows, bool passIds)
    {
        var (images, labels) = Batch();
        var index = tensor(rows.Select(r => (long)r).ToArray());
        var result = attack(images.index_select(0, index), labels.index_select(0, index), passIds ? rows.Select(r => Ids[r]).ToArray() : null);
        var back = zeros([8, .. result.shape.Skip(1)], dtype: result.dtype);
        back.index_copy_(0, index, result);
        return back;
    }

    static void AssertAloneBatchAndReversedAgree(Func<Tensor, Tensor, long[]?, Tensor> attack, bool passIds = true)
    {
        using var _ = NewDisposeScope();
        var inOrder = Adversarial(attack, Enumerable.Range(0, 8).ToArray(), passIds);
        var reversed = Adversarial(attack, Enumerable.Range(0, 8).Reverse().ToArray(), passIds);
        Assert.That(reversed.eq(inOrder).all().item<bool>(), Is.True, "reversed order: bitwise the same");
        for (int i = 0; i < 8; i++)
        {
            var alone = Adversarial(attack, [i], passIds)[i];
            Assert.That(alone.eq(inOrder[i]).all().item<bool>(), Is.True, $"example {i} alone: bitwise the same as in the batch");
        }
        var (images, _) = Batch();
        Assert.That(inOrder.eq(images).all().item<bool>(), Is.False, "the attack moved the images");
    }

    [Test]
    public void RandomStartsDependOnSeedAndIdOnly([Values("L2", "Linf")] string norm)
    {
        ThreatModel threat = norm == "L2" ? new L2Ball(1.0) : new LinfBall(8 / 255.0);
        AssertAloneBatchAndReversedAgree((x, _, ids) => threat.RandomStart(x, ExampleNoise.For(5, ids!, RandomPurpose.PgdStart, 0)));
    }

    [Test]
    public void PgdWithRandomStartAndRestarts([Values("L2", "Linf")] string norm)
    {
        var model = new RowwiseNet();
        ThreatModel threat = norm == "L2" ? new L2Ball(0.5) : new LinfBall(4 / 255.0);
        AssertAloneBatchAndReversedAgree((x, y, ids) =>
        {
            using var r = Pgd.Run(CrossEntropyObjective.Untargeted(model, y), x, threat, new AttackRun(9, ExampleIds: ids), new PgdOptions { Steps = 4, StepSize = threat.Eps / 4, RandomStart = true, Restarts = 2, Choice = IterateChoice.BestLoss });
            return r.Adversarial.clone();
        });
    }

    [Test]
    public void PgdWithoutIdsFallsBackToTheImagesOwnHash()
    {
        var model = new RowwiseNet();
        AssertAloneBatchAndReversedAgree((x, y, ids) =>
        {
            using var r = Pgd.Run(CrossEntropyObjective.Untargeted(model, y), x, new L2Ball(0.5), new AttackRun(9), new PgdOptions { Steps = 3, StepSize = 0.2, RandomStart = true });
            return r.Adversarial.clone();
        }, passIds: false);
    }

    [Test]
    public void ApgdStoppingOnSuccessOrNot([Values] bool stopOnSuccess)
    {
        var model = new RowwiseNet();
        AssertAloneBatchAndReversedAgree((x, y, ids) =>
        {
            using var r = Apgd.Run(CrossEntropyObjective.Untargeted(model, y), x, new L2Ball(0.5), new AttackRun(4, ExampleIds: ids), new ApgdOptions { Iterations = 12, StopOnSuccess = stopOnSuccess });
            return r.Adversarial.clone();
        });
    }

    [Test]
    public void SquareAttack([Values("L2", "Linf")] string norm)
    {
        var model = new RowwiseNet();
        ThreatModel threat = norm == "L2" ? new L2Ball(0.5) : new LinfBall(4 / 255.0);
        AssertAloneBatchAndReversedAgree((x, y, ids) =>
        {
            using var r = Square.Run(new MarginObjective(model, y), x, threat, new AttackRun(4, ExampleIds: ids), new SquareOptions { Queries = 40 });
            return r.Adversarial.clone();
        });
    }

    [Test]
    public void FabWithRandomRestartsAndFabT([Values("L2", "Linf")] string norm, [Values] bool targeted)
    {
        var model = new RowwiseNet();
        ThreatModel threat = norm == "L2" ? new L2Ball(0.5) : new LinfBall(4 / 255.0);
        AssertAloneBatchAndReversedAgree((x, y, ids) =>
        {
            var options = new FabOptions { Iterations = 6, Restarts = 2, TargetClasses = 2, Exhaustive = true };
            var run = new AttackRun(4, ids);
            using var r = targeted ? Fab.RunTargeted(model, x, y, threat, run, options) : Fab.Run(model, x, y, threat, run, options);
            // The returned images and, added to them, each row's smallest perturbation norm (found within eps or not).
            return r.Adversarial + r.MinimumNorm!.to_type(ScalarType.Float32).reshape(-1, 1, 1, 1);
        });
    }

    [Test]
    public void SmoothGradNoise()
    {
        var model = new RowwiseNet();
        AssertAloneBatchAndReversedAgree((x, y, ids) =>
            new SmoothGrad(new VanillaGradient(model), samples: 5, sigma: 0.2, batchSize: 7, seed: 3).Attribute(x, AttributionTarget.Loss(y), ids!).add_(x));
    }

    [Test]
    public void AnotherSeedOrIdGivesOtherNumbers()
    {
        using var _ = NewDisposeScope();
        var like = zeros(2, 3, 8, 8);
        var a = ExampleNoise.For(1, [10, 11], RandomPurpose.PgdStart, 0).Normal(like);
        var otherSeed = ExampleNoise.For(2, [10, 11], RandomPurpose.PgdStart, 0).Normal(like);
        var otherPurpose = ExampleNoise.For(1, [10, 11], RandomPurpose.ApgdStart, 0).Normal(like);
        var swapped = ExampleNoise.For(1, [11, 10], RandomPurpose.PgdStart, 0).Normal(like);
        Assert.That(a.eq(otherSeed).any().item<bool>(), Is.False);
        Assert.That(a.eq(otherPurpose).any().item<bool>(), Is.False);
        Assert.That(swapped[0].eq(a[1]).all().item<bool>(), Is.True, "an id's numbers follow the id, not the row");
        Assert.That(a[0].eq(a[1]).any().item<bool>(), Is.False);
        double mean = a.mean().item<float>(), std = a.std().item<float>();
        Assert.That(Math.Abs(mean), Is.LessThan(0.15));
        Assert.That(std, Is.EqualTo(1).Within(0.15));
    }

    [Test]
    public void ContentIdsFollowThePixels()
    {
        using var _ = NewDisposeScope();
        var (images, _) = Batch();
        var ids = ExampleIds.OfContent(images);
        Assert.That(ids.Distinct().Count(), Is.EqualTo(8));
        Assert.That(ExampleIds.OfContent(images[3..4]), Is.EqualTo(new[] { ids[3] }));
        var changed = images.clone();
        changed[3, 0, 0, 0] = changed[3, 0, 0, 0] + 1e-3f;
        Assert.That(ExampleIds.OfContent(changed)[3], Is.Not.EqualTo(ids[3]));
        long first = ExampleIds.OfName("cat/0001.jpg"), again = ExampleIds.OfName("cat/0001.jpg");
        Assert.That(again, Is.EqualTo(first).And.Not.EqualTo(ExampleIds.OfName("cat/0002.jpg")), "a name always gives the same id, another name another");
    }
}
