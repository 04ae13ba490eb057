using Repro.Attacks;
using Repro.Models;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

public class PgdTests
{
    /// <summary>
    /// A linear binary classifier: the worst case in an L2 ball of radius eps lowers the margin
    /// (true logit minus other) by exactly eps * ||w_true - w_other||, reached at x - eps * w/||w||;
    /// in an L-inf ball by eps * ||w||_1, at x - eps * sign(w). Pixels start at 0.5 and move far
    /// less than 0.5, so the box never binds.
    /// </summary>
    [Test]
    public void OnALinearModelPgdReachesTheAnalyticWorstCase([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        manual_seed(0);
        var model = new LinearClassifier(3 * 8 * 8, 2);
        var images = full(new long[] { 1, 3, 8, 8 }, 0.5f) + rand(1, 3, 8, 8) * 0.01f;
        var labels = tensor(new long[] { 0 });
        var w = (model.Layer.weight![0] - model.Layer.weight![1]).detach();
        double eps = norm == "L2" ? 0.5 : 0.02;
        ThreatModel threat = norm == "L2" ? new L2Ball(eps) : new LinfBall(eps);

        using var result = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, threat, new AttackRun(0), new PgdOptions { Steps = 20, StepSize = eps / 4 });

        Tensor Margin(Tensor x) { using var __ = no_grad(); var l = model.forward(x); return l[.., 0] - l[.., 1]; }
        double expectedDrop = norm == "L2" ? eps * w.norm().item<float>() : eps * w.abs().sum().item<float>();
        double drop = (Margin(images) - Margin(result.Adversarial)).item<float>();
        Assert.That(drop, Is.EqualTo(expectedDrop).Within(1).Percent);
        var optimum = norm == "L2" ? images - eps * w.reshape(images.shape) / w.norm() : images - eps * w.sign().reshape(images.shape);
        Assert.That(result.Adversarial.allclose(optimum, atol: 1e-4), Is.True, "PGD lands on the analytic optimum");
    }

    [Test]
    public void TargetedAndUntargetedMoveTheLossInOppositeDirections()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(5);
        var images = rand(4, 3, 32, 32);
        var classes = tensor(new long[] { 0, 1, 2, 1 });
        var options = new PgdOptions { Steps = 10, StepSize = 0.1 };
        Tensor Loss(Tensor x) { using var __ = no_grad(); return nn.functional.cross_entropy(model.forward(x), classes, reduction: nn.Reduction.None); }
        var before = Loss(images);

        using var up = Pgd.Run(CrossEntropyObjective.Untargeted(model, classes), images, new L2Ball(0.5), new AttackRun(0), options);
        using var down = Pgd.Run(CrossEntropyObjective.Targeted(model, classes), images, new L2Ball(0.5), new AttackRun(0), options);

        Assert.That(up.Loss.gt(before).all().item<bool>(), Is.True, "untargeted raises the loss on the label");
        Assert.That(down.Loss.lt(before).all().item<bool>(), Is.True, "targeted lowers the loss on the target");
        Assert.That(up.Loss.allclose(Loss(up.Adversarial)), Is.True, "reported loss is the loss at the returned images");
    }

    [Test]
    public void TheSameSeedGivesIdenticalResultsAndAnotherSeedDoesNot()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(6);
        var images = rand(2, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1 });
        AttackResult Run(long seed) => Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, new LinfBall(0.05), new AttackRun(seed), new PgdOptions { Steps = 3, StepSize = 0.01, RandomStart = true });
        using var a = Run(1);
        using var a2 = Run(1);
        using var b = Run(2);
        Assert.That(a.Adversarial.eq(a2.Adversarial).all().item<bool>(), Is.True);
        Assert.That(a.Adversarial.eq(b.Adversarial).all().item<bool>(), Is.False);
    }

    [Test]
    public void ExamplesOfABatchAreAttackedIndependently([Values(false, true)] bool keepBest)
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(7);
        var images = rand(4, 3, 32, 32);
        var labels = tensor(new long[] { 2, 1, 0, 1 });
        var options = new PgdOptions { Steps = 8, StepSize = 0.2, Choice = keepBest ? IterateChoice.BestLoss : IterateChoice.Latest };
        using var batch = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, new L2Ball(0.6), new AttackRun(0), options);
        for (int i = 0; i < 4; i++)
        {
            using var single = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels[i..(i + 1)]), images[i..(i + 1)], new L2Ball(0.6), new AttackRun(0), options);
            Assert.That((single.Adversarial - batch.Adversarial[i..(i + 1)]).abs().max().item<float>(), Is.LessThan(1e-4f), $"example {i}: equal up to float rounding of batched vs single kernels");
            Assert.That(single.Loss.item<float>(), Is.EqualTo(batch.Loss[i].item<float>()).Within(1e-4));
        }
    }

    [Test]
    public void TheBestLossIterateIsNeverWorseThanTheLastAndRestartsNeverHurt()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(8);
        var images = rand(6, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        // A step far too large makes the last iterate oscillate: the best one is then strictly better.
        var options = new PgdOptions { Steps = 6, StepSize = 2.0, RandomStart = true };
        var run = new AttackRun(3);
        using var last = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, new L2Ball(1.0), run, options);
        using var best = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, new L2Ball(1.0), run, options with { Choice = IterateChoice.BestLoss });
        using var restarts = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, new L2Ball(1.0), run, options with { Choice = IterateChoice.BestLoss, Restarts = 3 });
        Assert.That(best.Loss.ge(last.Loss - 1e-5).all().item<bool>(), Is.True);
        Assert.That(restarts.Loss.ge(best.Loss - 1e-5).all().item<bool>(), Is.True);
    }

    /// <summary>
    /// The result's loss, logits and success are those of the returned images: the attack reuses its
    /// last evaluation (and, with keep-best or restarts, the evaluation of each chosen iterate)
    /// instead of running the model again, so this checks that reuse against a fresh forward pass.
    /// </summary>
    [Test]
    public void TheResultDescribesTheReturnedImages([Values(false, true)] bool keepBest, [Values(1, 3)] int restarts)
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(9);
        var images = rand(5, 3, 32, 32);
        var targets = tensor(new long[] { 0, 1, 2, 0, 1 });
        var objective = CrossEntropyObjective.Targeted(model, targets);
        var run = new AttackRun(4);
        var options = new PgdOptions { Steps = 5, StepSize = 1.5, RandomStart = true, Choice = keepBest ? IterateChoice.BestLoss : IterateChoice.Latest, Restarts = restarts };
        using var result = Pgd.Run(objective, images, new L2Ball(1.0), run, options);
        using (no_grad())
        {
            var fresh = objective.Evaluate(result.Adversarial);
            Assert.That((fresh.PerExampleLoss - result.Loss).abs().max().item<float>(), Is.LessThan(1e-5f));
            Assert.That((fresh.Logits! - result.Logits!).abs().max().item<float>(), Is.LessThan(1e-5f));
            Assert.That(objective.Succeeded(fresh).data<bool>().ToArray(), Is.EqualTo(result.Success.data<bool>().ToArray()));
        }
    }

    [Test]
    public void ParametersAreFrozenDuringTheAttackAndRestoredAfter()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        var flags = model.parameters().Select(p => p.requires_grad).ToArray();
        bool sawFrozen = false;
        var objective = new CustomObjective(x =>
        {
            sawFrozen = model.parameters().All(p => !p.requires_grad);
            return model.forward(x).sum(1);
        }, Direction.Ascend, model);
        using var r = Pgd.Run(objective, rand(1, 3, 32, 32), new L2Ball(0.1), new AttackRun(0), new PgdOptions { Steps = 1, StepSize = 0.1 });
        Assert.That(sawFrozen, Is.True);
        Assert.That(model.parameters().Select(p => p.requires_grad), Is.EqualTo(flags));
        Assert.That(model.parameters().All(p => p.grad is null), Is.True, "no weight gradients are computed");
    }

    /// <summary>The returned iterate is chosen by one enum (no flags that encode it again); the final iterate of one run refuses restarts and early stops.</summary>
    [Test]
    public void TheIterateChoiceIsOneEnumAndTheFinalIterateRefusesRestarts()
    {
        Assert.That(new PgdOptions().Choice, Is.EqualTo(IterateChoice.Latest));
        var final = Assert.Throws<ReproInputException>(() => new PgdOptions { Choice = IterateChoice.Final, Restarts = 2 }.Validate())!;
        Assert.That(final.Message, Does.Contain("IterateChoice.Final").And.Not.Contain("--"));
        Assert.Throws<ReproInputException>(() => new PgdOptions { Choice = IterateChoice.Final, StopOnSuccess = true }.Validate());
        Assert.That(Assert.Throws<ReproInputException>(() => new PgdOptions { Choice = (IterateChoice)7 }.Validate())!.Message, Does.Contain("iterate choice"));
        Assert.DoesNotThrow(() => new PgdOptions { Choice = IterateChoice.SmallestPerturbation, Restarts = 3, StopOnSuccess = true }.Validate());
    }
}
