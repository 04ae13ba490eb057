using Repro.Attacks;
using Repro.Models;
using Repro.Training;
using Repro.Tests.Unit.Training;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>The one batched runner: chunks change memory and speed, never a number (random starts included), and its progress covers the whole set.</summary>
public class BatchedAttackTests
{
    [Test]
    public void AnyAttackWithRandomStartsGivesTheSameResultInAnyChunks()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(10, seed: 2);
        var model = LinearTraining.NewModel(SyntheticTwoClass.Pixels, 2, seed: 2);
        var attack = new ApgdAttack(ApgdLoss.Margin, new ApgdOptions { Iterations = 5, Restarts = 2 });
        var ids = ExampleIds.Range(100, 10);
        var reports = new List<(long Done, long Total)>();
        using var whole = BatchedAttack.Run(attack, model, images, labels, new L2Ball(0.3), new AttackRun(7, ids), chunkSize: 100);
        using var chunked = BatchedAttack.Run(attack, model, images, labels, new L2Ball(0.3), new AttackRun(7, ids, (d, t) => reports.Add((d, t))), chunkSize: 3);
        Assert.That(chunked.Adversarial.eq(whole.Adversarial).all().item<bool>(), Is.True, "bitwise the same");
        Assert.That(chunked.Success.eq(whole.Success).all().item<bool>(), Is.True);
        Assert.That(chunked.Logits, Is.Not.Null);
        Assert.That(reports.Select(r => (double)r.Done / r.Total), Is.Ordered, "progress over the whole set only grows");
        Assert.That(reports[^1].Done, Is.EqualTo(reports[^1].Total));
    }

    [Test]
    public void AChunkSizeBelowOneIsRefusedByName()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(4, seed: 1);
        var model = LinearTraining.NewModel(SyntheticTwoClass.Pixels, 2, seed: 1);
        var e = Assert.Throws<ReproArgumentException>(() => BatchedAttack.Run(new PgdAttack(2), model, images, labels, new L2Ball(0.1), new AttackRun(0), chunkSize: 0))!;
        Assert.That(e.ParamName, Is.EqualTo("chunkSize"));
    }

    [Test]
    public void ChunksChangeNothing()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(10, seed: 1);
        var model = LinearTraining.NewModel(SyntheticTwoClass.Pixels, 2, seed: 1);
        var options = new PgdOptions { StepSize = 0.02, Steps = 5 };
        using var whole = AttackedSet.Attack(model, images, labels, new L2Ball(0.1), new AttackRun(0), options, AttackLoss.CrossEntropy, chunk: 100);
        using var chunked = AttackedSet.Attack(model, images, labels, new L2Ball(0.1), new AttackRun(0), options, AttackLoss.CrossEntropy, chunk: 3);
        Assert.That(chunked.Adversarial.shape, Is.EqualTo(images.shape));
        Assert.That((chunked.Adversarial - whole.Adversarial).abs().max().item<float>(), Is.LessThan(1e-6f));
        Assert.That(chunked.AdversarialPrediction.eq(whole.AdversarialPrediction).all().item<bool>(), Is.True);
        Assert.That(chunked.L2.allclose(whole.L2), Is.True);
        Assert.That(chunked.CleanPrediction.eq(LinearTraining.Predict(model, images)).all().item<bool>(), Is.True);
    }

    [Test]
    public void FlippedMeansRightBeforeAndWrongAfter()
    {
        using var _ = NewDisposeScope();
        var set = new AttackedSet
        {
            Adversarial = zeros(4, 3),
            CleanPrediction = tensor(new long[] { 0, 0, 1, 1 }),
            AdversarialPrediction = tensor(new long[] { 1, 0, 0, 1 }),
            L2 = zeros(4),
        };
        using (set)
            Assert.That(set.Flipped(tensor(new long[] { 0, 0, 0, 1 })).data<bool>().ToArray(), Is.EqualTo(new[] { true, false, false, false }),
                "example 2 was wrong before the attack, so it is not counted as flipped");
    }
}
