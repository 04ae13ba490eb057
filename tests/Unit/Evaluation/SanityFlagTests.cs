using Repro.Attacks;
using Repro.Evaluation;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Tests.Unit.Evaluation;

/// <summary>Each sanity flag fires on a model built to have the fault, and none fires on an ordinary model.</summary>
public class SanityFlagTests
{
    /// <summary>TinyNet with a softmax at the end: outputs are probabilities.</summary>
    sealed class SoftmaxOutput : Module<Tensor, Tensor>
    {
        readonly TinyNet inner = new();
        public SoftmaxOutput() : base("SoftmaxOutput") => RegisterComponents();
        public override Tensor forward(Tensor x) => functional.softmax(inner.forward(x), 1);
    }

    /// <summary>A ReLU block that is dead for dark pixels: relu(x − 0.5), then a linear head. An image darker than 0.5 everywhere has an exactly zero input gradient.</summary>
    sealed class DeadReluBlock : Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Linear head;
        public DeadReluBlock() : base("DeadReluBlock")
        {
            manual_seed(3);
            head = Linear(3 * 32 * 32, 3);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => head.forward(functional.relu(x.flatten(1) - 0.5));
    }

    /// <summary>Dropout hard-wired on (training: true), as a model exported or written with dropout left active.</summary>
    sealed class DropoutLeftOn : Module<Tensor, Tensor>
    {
        readonly TinyNet inner = new();
        public DropoutLeftOn() : base("DropoutLeftOn") => RegisterComponents();
        public override Tensor forward(Tensor x) => inner.forward(functional.dropout(x, 0.3, training: true));
    }

    static (Tensor Images, Tensor Labels) Data(nn.Module<Tensor, Tensor> model, bool dark = false)
    {
        manual_seed(41);
        var images = dark ? cat([rand(4, 3, 32, 32) * 0.45f, rand(4, 3, 32, 32) * 0.5f + 0.5f]) : rand(8, 3, 32, 32);
        using var _ = no_grad();
        return (images, model.forward(images).argmax(1));
    }

    [Test]
    public void AnOrdinaryModelRaisesNoFlag()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        var (x, y) = Data(model);
        var flags = new[] { SanityChecks.Probabilities(model, x), SanityChecks.ZeroGradients(model, x, y), SanityChecks.Randomness(model, x), SanityChecks.Unbounded(model, x, y, Norm.L2, seed: 0) };
        foreach (var f in flags) TestContext.Out.WriteLine(f);
        Assert.That(flags.Where(f => f.Fired), Is.Empty);
    }

    [Test]
    public void ASoftmaxOutputIsFlagged()
    {
        using var _ = NewDisposeScope();
        var model = new SoftmaxOutput();
        var (x, _) = Data(model);
        var flag = SanityChecks.Probabilities(model, x);
        TestContext.Out.WriteLine(flag);
        Assert.That(flag.Fired, Is.True);
        Assert.That(flag.Detail, Does.Contain("probabilities"));
    }

    [Test]
    public void ADeadReluBlockIsFlaggedTwice()
    {
        using var _ = NewDisposeScope();
        var model = new DeadReluBlock();
        var (x, y) = Data(model, dark: true);
        var zero = SanityChecks.ZeroGradients(model, x, y);
        var unbounded = SanityChecks.Unbounded(model, x, y, Norm.L2, seed: 0);
        TestContext.Out.WriteLine(zero);
        TestContext.Out.WriteLine(unbounded);
        Assert.That(zero.Fired, Is.True);
        Assert.That(zero.Detail, Does.StartWith("4 of 8"), "the four dark images");
        Assert.That(unbounded.Fired, Is.True, "an unbounded attack cannot move an image with a zero gradient");
        Assert.That(SanityChecks.Probabilities(model, x).Fired, Is.False);
    }

    [Test]
    public void DropoutLeftOnIsFlagged()
    {
        using var _ = NewDisposeScope();
        var model = new DropoutLeftOn();
        var (x, _) = Data(model);
        var flag = SanityChecks.Randomness(model, x);
        TestContext.Out.WriteLine(flag);
        Assert.That(flag.Fired, Is.True);
        Assert.That(SanityChecks.Randomness(new TinyNet(), x).Fired, Is.False);
    }

    [Test]
    public void AGradientFreeAttackThatFoolsMoreIsFlagged()
    {
        AttackStage Stage(string name, long fooled) => new(name, 0.5, fooled, 100, TimeSpan.Zero);
        var gradientFree = new[] { false, false, true };
        Assert.That(SanityChecks.GradientFreeWins([Stage("apgd-ce", 30), Stage("apgd-t", 5), Stage("square", 0)], gradientFree, 1000).Fired, Is.False);
        Assert.That(SanityChecks.GradientFreeWins([Stage("apgd-ce", 30), Stage("apgd-t", 5), Stage("square", 2)], gradientFree, 1000).Fired, Is.False, "2 of 1,000 is within AutoAttack's 0.2%");
        Assert.That(SanityChecks.GradientFreeWins([Stage("apgd-ce", 30), Stage("apgd-t", 5), Stage("square", 3)], gradientFree, 1000).Fired, Is.True);
        Assert.That(SanityChecks.GradientFreeWins([Stage("square", 40)], [true], 100).Fired, Is.False, "nothing to compare with");
    }

    [Test]
    public void AccuracyThatDoesNotFallWithEpsIsFlagged()
    {
        Assert.That(SanityChecks.AccuracyFallsWithEps([(0.25, 80), (0.5, 60), (1.0, 20)], 100).Fired, Is.False);
        Assert.That(SanityChecks.AccuracyFallsWithEps([(0.25, 80), (0.5, 60), (1.0, 65)], 100).Fired, Is.True, "a rise");
        Assert.That(SanityChecks.AccuracyFallsWithEps([(1.0, 70), (0.25, 70)], 100).Fired, Is.True, "flat over the whole range");
        Assert.That(SanityChecks.AccuracyFallsWithEps([(0.5, 0), (1.0, 0)], 100).Fired, Is.False, "already zero");
    }
}
