using Repro.Attacks;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// Success first: if any iterate an attack visited reached the goal, the returned one did too.
/// Choosing by loss alone throws successful iterates away when loss and success disagree, which
/// they do with more than two classes.
/// </summary>
public class SuccessFirstTests
{
    static readonly L2Ball Ball = new(0.4);

    static Tensor Start => tensor(new[] { 0.2f }).reshape(1, 1);

    [Test]
    public void TheToyModelReallyPutsTheHighestLossOnAnUnsuccessfulPoint()
    {
        using var _ = NewDisposeScope();
        var model = new LossAndSuccessDisagree();
        var points = tensor(new[] { 0.2f, 0.4f, 0.6f }).reshape(3, 1);
        var objective = CrossEntropyObjective.Untargeted(model, zeros(3, dtype: ScalarType.Int64));
        var value = objective.Evaluate(points);
        var loss = value.PerExampleLoss.data<float>().ToArray();
        var success = objective.Succeeded(value).data<bool>().ToArray();
        TestContext.Out.WriteLine($"cross-entropy at 0.2, 0.4, 0.6: {string.Join(", ", loss.Select(l => l.ToString("F4")))}; misclassified: {string.Join(", ", success)}");
        Assert.That(success, Is.EqualTo(new[] { false, true, false }));
        Assert.That(loss[0], Is.LessThan(loss[1]));
        Assert.That(loss[1], Is.LessThan(loss[2]), "the unsuccessful point has the higher loss");
        // And PGD really visits it: the final iterate, kept unconditionally, is the unsuccessful 0.6.
        using var final = Pgd.Run(objective.Subset(tensor(new long[] { 0 }))!, Start, Ball, new AttackRun(0), new PgdOptions { Steps = 4, StepSize = 0.2, Choice = IterateChoice.Final });
        Assert.That(final.Adversarial.item<float>(), Is.EqualTo(0.6f).Within(1e-6f));
        Assert.That(final.Success.item<bool>(), Is.False);
    }

    [Test]
    public void PgdReturnsTheSuccessfulIterateNotTheHigherLossOne([Values] bool keepBest)
    {
        using var _ = NewDisposeScope();
        var objective = CrossEntropyObjective.Untargeted(new LossAndSuccessDisagree(), zeros(1, dtype: ScalarType.Int64));
        using var result = Pgd.Run(objective, Start, Ball, new AttackRun(0), new PgdOptions { Steps = 4, StepSize = 0.2, Choice = keepBest ? IterateChoice.BestLoss : IterateChoice.Latest });
        Assert.That(result.Success.item<bool>(), Is.True, "a successful iterate was seen");
        Assert.That(result.Adversarial.item<float>(), Is.EqualTo(0.4f).Within(1e-6f));
        Assert.That(result.Logits!.argmax(1).item<long>(), Is.EqualTo(1L), "the logits describe the returned point");
    }

    [Test]
    public void RestartsAreMergedSuccessFirst()
    {
        using var _ = NewDisposeScope();
        var objective = CrossEntropyObjective.Untargeted(new LossAndSuccessDisagree(), zeros(1, dtype: ScalarType.Int64));
        // Restart 0 from the image visits the successful 0.4; later random starts reach the higher-loss 0.6 and stay.
        using var result = Pgd.Run(objective, Start, Ball, new AttackRun(0), new PgdOptions { Steps = 4, StepSize = 0.2, Restarts = 3, Choice = IterateChoice.BestLoss });
        Assert.That(result.Success.item<bool>(), Is.True);
    }

    /// <summary>An objective that records, per example, whether any point it evaluated succeeded.</summary>
    sealed class Recording(AttackObjective inner, Tensor seen, Tensor? rows = null) : AttackObjective
    {
        public Tensor Seen => seen;
        public override Direction Direction => inner.Direction;
        public override IEnumerable<nn.Module> Modules => inner.Modules;
        public override ObjectiveValue Evaluate(Tensor images) => inner.Evaluate(images);
        public override AttackObjective? Subset(Tensor index)
        {
            var sub = inner.Subset(index);
            return sub is null ? null : new Recording(sub, seen, rows is null ? index : rows.index_select(0, index));
        }

        public override Tensor Succeeded(ObjectiveValue value)
        {
            var success = inner.Succeeded(value);
            using (no_grad())
            {
                var r = rows ?? arange(success.shape[0]);
                seen.index_copy_(0, r, seen.index_select(0, r).logical_or(success));
            }
            return success;
        }
    }

    /// <summary>
    /// On a three-class model, for every attack and choice: every example for which any evaluated
    /// point succeeded comes back successful, and the reported success is that of the returned images.
    /// </summary>
    [Test]
    public void NoAttackThrowsASuccessfulIterateAway([Values("pgd-latest", "pgd-best", "pgd-smallest", "pgd-restarts", "apgd", "apgd-keep-going", "square")] string attack)
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(21);
        var images = rand(12, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2 });
        var seen = zeros(12, dtype: ScalarType.Bool);
        var objective = new Recording(CrossEntropyObjective.Untargeted(model, labels), seen);
        var ball = new L2Ball(0.5);
        var pgd = new PgdOptions { Steps = 8, StepSize = 0.6, RandomStart = true };
        var run = new AttackRun(3);
        using var result = attack switch
        {
            "pgd-latest" => Pgd.Run(objective, images, ball, run, pgd),
            "pgd-best" => Pgd.Run(objective, images, ball, run, pgd with { Choice = IterateChoice.BestLoss }),
            "pgd-smallest" => Pgd.Run(objective, images, ball, run, pgd with { Choice = IterateChoice.SmallestPerturbation }),
            "pgd-restarts" => Pgd.Run(objective, images, ball, run, pgd with { Restarts = 3, StopOnSuccess = true }),
            "apgd" => Apgd.Run(objective, images, ball, new AttackRun(0), new ApgdOptions { Iterations = 10 }),
            "apgd-keep-going" => Apgd.Run(objective, images, ball, new AttackRun(0), new ApgdOptions { Iterations = 10, StopOnSuccess = false }),
            _ => Square.Run(new Recording(new MarginObjective(model, labels), seen), images, ball, new AttackRun(0), new SquareOptions { Queries = 30 }),
        };
        var sawSuccess = seen.data<bool>().ToArray();
        var returned = result.Success.data<bool>().ToArray();
        TestContext.Out.WriteLine($"{attack}: {sawSuccess.Count(s => s)} of 12 examples had a successful iterate; {returned.Count(s => s)} returned successful");
        Assert.That(sawSuccess.Count(s => s), Is.InRange(1, 11), "the test needs some examples fooled and some not");
        for (int i = 0; i < 12; i++)
            if (sawSuccess[i]) Assert.That(returned[i], Is.True, $"example {i}: a successful iterate was seen");
        using (no_grad())
            Assert.That(model.forward(result.Adversarial).argmax(1).ne(labels).data<bool>().ToArray(), Is.EqualTo(returned), "Success describes the returned images");
    }
}
