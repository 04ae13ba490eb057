using Repro.Attacks;
using Repro.Models;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

public class ApgdTests
{
    [Test]
    public void TheCheckpointsAreThePublishedOnes()
    {
        // p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) (Croce & Hein 2020, section 3.2).
        Assert.That(ApgdOptions.Checkpoints(100), Is.EqualTo(new[] { 22, 41, 57, 70, 80, 87, 93, 99 }));
        var options = new ApgdOptions();
        Assert.That((options.Iterations, options.Momentum, options.Rho, options.InitialStep, options.Restarts), Is.EqualTo((100, 0.75, 0.75, 2.0, 1)));
    }

    /// <summary>
    /// A convex problem: for a linear binary classifier the worst point of an L2 ball lowers the margin
    /// by exactly eps·‖w_0 − w_1‖₂ (at x − eps·w/‖w‖), of an L-inf ball by eps·‖w‖₁ (at x − eps·sign(w)).
    /// The example cannot be fooled (its margin exceeds the drop), so APGD must find the optimum itself.
    /// </summary>
    [Test]
    public void OnALinearModelApgdReachesTheAnalyticWorstCase([Values("L2", "Linf")] string norm, [Values("ce", "margin")] string loss)
    {
        using var _ = NewDisposeScope();
        manual_seed(0);
        var model = new LinearClassifier(3 * 8 * 8, 2);
        var w = (model.Layer.weight![0] - model.Layer.weight![1]).detach();
        var images = full(new long[] { 1, 3, 8, 8 }, 0.5f) + rand(1, 3, 8, 8) * 0.01f;
        double eps = norm == "L2" ? 0.5 : 0.02;
        ThreatModel threat = norm == "L2" ? new L2Ball(eps) : new LinfBall(eps);
        // Shift the bias so that the example stays correctly classified even at the worst point.
        double drop = norm == "L2" ? eps * w.norm().item<float>() : eps * w.abs().sum().item<float>();
        using (no_grad()) model.Layer.bias![0] += (float)(2 * drop + 1);
        var labels = tensor(new long[] { 0 });
        AttackObjective objective = loss == "ce" ? CrossEntropyObjective.Untargeted(model, labels) : new MarginObjective(model, labels);

        using var result = Apgd.Run(objective, images, threat, new AttackRun(1), new ApgdOptions());

        Tensor Margin(Tensor x) { using var __ = no_grad(); var l = model.forward(x); return l[.., 0] - l[.., 1]; }
        double reached = (Margin(images) - Margin(result.Adversarial)).item<float>();
        TestContext.Out.WriteLine($"{norm} {loss}: margin drop {reached:F5}, analytic {drop:F5}");
        Assert.That(result.Success.item<bool>(), Is.False);
        Assert.That(reached, Is.EqualTo(drop).Within(0.5).Percent);
        var optimum = norm == "L2" ? images - eps * w.reshape(images.shape) / w.norm() : images - eps * w.sign().reshape(images.shape);
        Assert.That((result.Adversarial - optimum).abs().max().item<float>(), Is.LessThan(norm == "L2" ? 2e-3f : 1e-4f), "APGD lands on the analytic optimum");
    }

    /// <summary>On a small three-class net APGD-CE is at least as strong as PGD with the same number of steps (never fewer fooled).</summary>
    [Test]
    public void ApgdFoolsWhatAFixedStepPgdFools()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(11);
        var images = rand(24, 3, 32, 32);
        using var clean = no_grad();
        var labels = model.forward(images).argmax(1);
        using var __ = enable_grad();
        var ball = new L2Ball(0.3);
        using var pgd = Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, ball, new AttackRun(0), new PgdOptions { Steps = 20, StepSize = 0.075 });
        using var apgd = Apgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, ball, new AttackRun(2), new ApgdOptions { Iterations = 20 });
        long p = pgd.Success.sum().item<long>(), a = apgd.Success.sum().item<long>();
        TestContext.Out.WriteLine($"fooled of 24: PGD-20 {p}, APGD-20 {a}");
        Assert.That(a, Is.GreaterThanOrEqualTo(p));
        Assert.That(apgd.L2.max().item<float>(), Is.LessThanOrEqualTo(0.3f + 1e-5f));
    }

    [Test]
    public void DlrIsTheDifferenceOfLogitsRatio()
    {
        using var _ = NewDisposeScope();
        var identity = nn.Identity(); // logits = the "images" themselves
        var logits = tensor(new float[,] { { 3, 1, 0.5f, 0 }, { 1, 3, 0.5f, 0 } });
        var labels = tensor(new long[] { 0, 0 });
        var dlr = new DlrObjective(identity, labels).Evaluate(logits).PerExampleLoss.data<float>().ToArray();
        // Example 0 is correct: -(3 - 1)/(3 - 0.5); example 1 is wrong: -(1 - 3)/(3 - 0.5).
        Assert.That(dlr[0], Is.EqualTo(-2 / 2.5f).Within(1e-6));
        Assert.That(dlr[1], Is.EqualTo(2 / 2.5f).Within(1e-6));
        var targeted = new TargetedDlrObjective(identity, labels, tensor(new long[] { 2, 1 })).Evaluate(logits).PerExampleLoss.data<float>().ToArray();
        // -(z_y - z_t)/(z_1st - (z_3rd + z_4th)/2)
        Assert.That(targeted[0], Is.EqualTo(-(3 - 0.5f) / (3 - 0.25f)).Within(1e-6));
        Assert.That(targeted[1], Is.EqualTo(-(1 - 3f) / (3 - 0.25f)).Within(1e-6));
    }

    [Test]
    public void DlrIsRefusedForTwoClassesAndTargetedDlrForThree()
    {
        using var _ = NewDisposeScope();
        var two = new TinyNet(classes: 2);
        var images = rand(2, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1 });
        var e = Assert.Throws<ReproInputException>(() => Apgd.Run(new DlrObjective(two, labels), images, new L2Ball(0.5), new AttackRun(0), new ApgdOptions { Iterations = 2 }));
        Assert.That(e!.Message, Does.Contain(">= 3 classes").And.Contain("logit margin"));
        var three = new TinyNet(classes: 3);
        var t = Assert.Throws<ReproInputException>(() => Apgd.RunTargeted(three, images, labels, new L2Ball(0.5), new AttackRun(0), new ApgdOptions { Iterations = 2 }));
        Assert.That(t!.Message, Does.Contain(">= 4 classes"));
        Assert.Throws<ReproInputException>(() => Apgd.Run(CrossEntropyObjective.Untargeted(two, labels), images, new Unconstrained(), new AttackRun(0), new ApgdOptions { Iterations = 2 }));
    }

    [Test]
    public void ApgdTargetedFoolsMoreThanItsFirstTargetAloneAndStaysInTheBall([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet(classes: 6);
        manual_seed(12);
        var images = rand(16, 3, 32, 32);
        Tensor labels;
        using (no_grad()) labels = model.forward(images).argmax(1);
        ThreatModel threat = norm == "L2" ? new L2Ball(0.25) : new LinfBall(1.5 / 255);
        using var one = Apgd.RunTargeted(model, images, labels, threat, new AttackRun(3), new ApgdOptions { Iterations = 10, TargetClasses = 1 });
        using var five = Apgd.RunTargeted(model, images, labels, threat, new AttackRun(3), new ApgdOptions { Iterations = 10, TargetClasses = 5 });
        long a = one.Success.sum().item<long>(), b = five.Success.sum().item<long>();
        TestContext.Out.WriteLine($"{norm}: fooled of 16 with 1 target {a}, with 5 targets {b}");
        Assert.That(b, Is.GreaterThanOrEqualTo(a));
        Assert.That(threat.Distance(images, five.Adversarial).max().item<float>(), Is.LessThanOrEqualTo((float)threat.Eps * 1.0001f));
        using (no_grad())
            Assert.That(model.forward(five.Adversarial).argmax(1).ne(labels).data<bool>().ToArray(), Is.EqualTo(five.Success.data<bool>().ToArray()));
    }
}
