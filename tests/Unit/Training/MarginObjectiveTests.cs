using Repro.Attacks;
using Repro.Models;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

public class MarginObjectiveTests
{
    /// <summary>
    /// A linear model as confident as the tutorial's standard one (||w_0 - w_1|| = 16) on a CIFAR-sized
    /// image with a margin of 45: an eps-4 attack can lower the margin by 64 and flip it (each pixel moves
    /// by only 4/√3072 ≈ 0.07, so the box does not bind). In float32 cross-entropy's input gradient there
    /// is about e^-45 ≈ 3e-20, far below the 1e-12 that guards the L2 step's normalisation, so PGD on
    /// cross-entropy hardly moves; PGD on the margin reaches the exact worst case.
    /// </summary>
    [Test]
    public void OnAConfidentImageMarginPgdReachesTheWorstCaseWhereCrossEntropyPgdStalls()
    {
        using var _ = NewDisposeScope();
        const int pixels = 3 * 32 * 32;
        var model = new LinearClassifier(pixels, 2);
        var image = full(new long[] { 1, 3, 32, 32 }, 0.5f);
        using (no_grad())
        {
            var direction = ones(pixels) / Math.Sqrt(pixels);
            model.Layer.weight!.copy_(stack([direction * 8, direction * -8]));
            double bias = 45 - 16 * 0.5 * Math.Sqrt(pixels);       // margin 16·(direction·x) + bias = 45
            model.Layer.bias!.copy_(tensor(new[] { (float)bias / 2, -(float)bias / 2 }));
        }
        var label = tensor(new long[] { 0 });
        var options = new PgdOptions { StepSize = 0.4, Steps = 20 };
        double Margin(Tensor x) { using var __ = no_grad(); var l = model.forward(x); return (l[0, 0] - l[0, 1]).item<float>(); }
        Assert.That(Margin(image), Is.EqualTo(45).Within(0.01));

        using var crossEntropy = AttackedSet.Attack(model, image, label, new L2Ball(4), new AttackRun(0), options, AttackLoss.CrossEntropy);
        using var margin = AttackedSet.Attack(model, image, label, new L2Ball(4), new AttackRun(0), options, AttackLoss.Margin);

        Assert.That(Margin(image) - Margin(margin.Adversarial), Is.EqualTo(64).Within(1).Percent, "margin PGD: the exact drop eps·||w_0 - w_1||");
        Assert.That(margin.AdversarialPrediction.item<long>(), Is.EqualTo(1));
        Assert.That(Margin(crossEntropy.Adversarial), Is.GreaterThan(40), "cross-entropy PGD barely moved");
        Assert.That(crossEntropy.AdversarialPrediction.item<long>(), Is.EqualTo(0));
    }

    [Test]
    public void TheLossIsTheBestOtherLogitMinusTheTrueOne()
    {
        using var _ = NewDisposeScope();
        var model = new LinearClassifier(2, 3);
        using (no_grad())
        {
            model.Layer.weight!.copy_(eye(3, 2));
            model.Layer.bias!.copy_(tensor(new[] { 0f, 0f, 5f }));
        }
        var x = tensor(new[] { 1f, 2f, 3f, 0f }).reshape(2, 2);      // logits [1,2,5] and [3,0,5]
        var objective = new MarginObjective(model, tensor(new long[] { 1, 2 }));
        var value = objective.Evaluate(x);
        Assert.That(value.PerExampleLoss.data<float>().ToArray(), Is.EqualTo(new[] { 3f, -2f }));
        Assert.That(objective.Succeeded(value).data<bool>().ToArray(), Is.EqualTo(new[] { true, false }));
    }
}
