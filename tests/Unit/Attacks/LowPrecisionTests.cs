using Repro.Attacks;
using Repro.Explain;
using Repro.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// Attacks and attributions in bfloat16 / float16 (<see cref="LowPrecision"/>): the model runs in the
/// low precision only during the search and comes back exactly as it was; every number an attack
/// returns equals a float32 re-computation on the returned images.
/// </summary>
[NonParallelizable]
public class LowPrecisionTests
{
    static SmallResNet Model()
    {
        manual_seed(3);
        var model = new SmallResNet(classes: 10);
        model.eval();
        return model;
    }

    static void RequireKernels(AttackPrecision precision)
    {
        if (!AttackPrecisions.Supported(precision, CPU, out var reason))
            Assert.Ignore($"NOT RUN — this CPU's libtorch has no {precision.ShortName()} kernels: {reason}");
    }

    [Test]
    public void TheModelRunsInTheLowPrecisionInsideTheScopeAndComesBackExactly([Values(AttackPrecision.BFloat16, AttackPrecision.Float16)] AttackPrecision precision)
    {
        RequireKernels(precision);
        using var _ = NewDisposeScope();
        using var model = Model();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var flags = model.named_parameters().ToDictionary(t => t.name, t => t.parameter.requires_grad);
        var x = rand(4, 3, 32, 32, generator: new Generator(1));
        Tensor reference, low;
        using (no_grad()) reference = model.call(x);
        using (LowPrecision.Enter([model], precision))
        {
            Assert.That(model.parameters().First().dtype, Is.EqualTo(precision.DType()));
            using (no_grad()) low = model.call(x);
            Assert.That(low.dtype, Is.EqualTo(ScalarType.Float32), "outputs come back as float32");
            Assert.That(LowPrecision.IsActive(model), Is.True);
        }
        double difference = (low - reference).abs().max().item<float>() / reference.abs().max().item<float>();
        TestContext.Out.WriteLine($"{precision.ShortName()}: logits differ from float32 by {difference:0.0e+00} of their scale");
        Assert.That(difference, Is.GreaterThan(1e-6), "the forward pass really ran in the low precision");
        Assert.That(difference, Is.LessThan(0.1));
        Assert.That(LowPrecision.IsActive(model), Is.False);
        foreach (var (name, value) in model.state_dict())
        {
            Assert.That(value.dtype, Is.EqualTo(before[name].dtype), name);
            Assert.That(value.Equals(before[name]), Is.True, $"{name} is bitwise as before");
        }
        foreach (var (name, p) in model.named_parameters()) Assert.That(p.requires_grad, Is.EqualTo(flags[name]), name);
        using (no_grad()) Assert.That(model.call(x).Equals(reference), Is.True, "the same logits as before the scope");
    }

    /// <summary>
    /// PGD, APGD-CE, APGD-T and Square in bf16: every returned number (loss, logits, success, L2,
    /// L-inf) equals a float32 re-computation on the returned images, the images lie in the ball and
    /// the box, and the model is float32 again afterwards.
    /// </summary>
    [Test]
    public void EveryNumberALowPrecisionAttackReturnsIsAFloat32Figure([Values("pgd", "apgd-ce", "apgd-t", "square")] string name)
    {
        RequireKernels(AttackPrecision.BFloat16);
        using var _ = NewDisposeScope();
        using var model = Model();
        var images = rand(6, 3, 32, 32, generator: new Generator(2));
        Tensor labels;
        using (no_grad()) labels = model.call(images).argmax(1);
        var threat = new L2Ball(0.5);
        IAttack attack = name switch
        {
            "pgd" => new PgdAttack(steps: 5),
            "apgd-ce" => new ApgdAttack(ApgdLoss.CrossEntropy, new ApgdOptions { Iterations = 5 }),
            "apgd-t" => new ApgdTargetedAttack(new ApgdOptions { Iterations = 5, TargetClasses = 2 }),
            _ => new SquareAttack(new SquareOptions { Queries = 10 }),
        };
        using var result = attack.Run(model, images, labels, threat, new AttackRun(0, ExampleIds.Range(0, 6), Precision: AttackPrecision.BFloat16));
        Assert.That(model.parameters().All(p => p.dtype == ScalarType.Float32), Is.True);
        using var __ = no_grad();
        var logits = model.call(result.Adversarial);
        var delta = (result.Adversarial - images).flatten(1);
        Assert.That(result.Success.Equals(logits.argmax(1).ne(labels)), Is.True, "success is the float32 prediction's");
        if (result.Logits is not null) Assert.That(result.Logits.dtype == ScalarType.Float32 && result.Logits.Equals(logits), Is.True, "logits are the float32 forward pass's");
        Assert.That(result.L2.allclose(delta.norm(1, p: 2), rtol: 1e-6, atol: 1e-7), Is.True, "L2 norms");
        Assert.That(result.Linf.allclose(delta.abs().amax(1), rtol: 0, atol: 0), Is.True, "L-inf norms");
        Assert.That(result.L2.max().item<float>(), Is.LessThanOrEqualTo(0.5 * (1 + 1e-5)));
        Assert.That(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1, Is.True);
        if (name is "pgd" or "apgd-ce")
        {
            var loss = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
            Assert.That(result.Loss.allclose(loss, rtol: 1e-6, atol: 1e-6), Is.True, "loss is the float32 cross-entropy");
        }
        if (name == "square")
        {
            var margin = new MarginObjective(model, labels).Evaluate(result.Adversarial).PerExampleLoss;
            Assert.That(result.Loss.allclose(margin, rtol: 1e-6, atol: 1e-6), Is.True, "loss is the float32 margin");
        }
        TestContext.Out.WriteLine($"{name} bf16: {result.Success.sum().item<long>()} of 6 fooled (float32-confirmed)");
    }

    [Test]
    public void ALowPrecisionGradientIsFloat32AndCloseToTheFloat32One()
    {
        RequireKernels(AttackPrecision.BFloat16);
        using var _ = NewDisposeScope();
        using var model = Model();
        var images = rand(2, 3, 32, 32, generator: new Generator(4));
        var target = AttributionTarget.Logit(tensor(new long[] { 1, 2 }));
        var exact = new VanillaGradient(model).Attribute(images, target);
        var low = new VanillaGradient(model, AttackPrecision.BFloat16).Attribute(images, target);
        var smooth = new SmoothGrad(new VanillaGradient(model, AttackPrecision.BFloat16), samples: 4, sigma: 0.1, batchSize: 2).Attribute(images, target);
        Assert.That(low.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(smooth.dtype, Is.EqualTo(ScalarType.Float32));
        double cosine = (low * exact).sum().item<float>() / (low.norm().item<float>() * exact.norm().item<float>());
        TestContext.Out.WriteLine($"bf16 gradient vs float32: cosine {cosine:F4}");
        Assert.That(cosine, Is.GreaterThan(0.95));
        Assert.That(model.parameters().All(p => p.dtype == ScalarType.Float32), Is.True);
    }
}

/// <summary>Screen then confirm (issue 23): a bf16 pass, then float32 on the survivors with the same per-example randomness; never weaker than float32 alone.</summary>
[NonParallelizable]
public class ScreenThenConfirmTests
{
    [Test]
    public void ItsFooledSetContainsTheFloat32OnlyRunsFooledSet()
    {
        if (!AttackPrecisions.Supported(AttackPrecision.BFloat16, CPU, out var reason)) Assert.Ignore($"NOT RUN — no bf16 kernels here: {reason}");
        using var _ = NewDisposeScope();
        manual_seed(5);
        using var model = new SmallResNet(classes: 10);
        model.eval();
        var images = rand(12, 3, 32, 32, generator: new Generator(6));
        Tensor labels;
        using (no_grad()) labels = model.call(images).argmax(1);
        var ids = ExampleIds.Range(100, 12);
        Repro.Evaluation.RobustnessSettings Settings(AttackPrecision precision, bool screen) => new()
        {
            Norm = Norm.L2, Eps = [0.2, 0.4], Attacks = [new PgdAttack(steps: 5)], Seed = 1, BatchSize = 5, SanityExamples = 2, UnboundedExamples = 0,
            Precision = precision, ScreenThenConfirm = screen,
        };
        var alone = Repro.Evaluation.RobustAccuracy.Evaluate("random", model, images, labels, ids, Settings(AttackPrecision.Float32, false));
        var screened = Repro.Evaluation.RobustAccuracy.Evaluate("random", model, images, labels, ids, Settings(AttackPrecision.BFloat16, true));
        var low = Repro.Evaluation.RobustAccuracy.Evaluate("random", model, images, labels, ids, Settings(AttackPrecision.BFloat16, false));
        for (int e = 0; e < 2; e++)
        {
            var fp32 = alone.PerEps[e].RobustPerExample!;
            var screen = screened.PerEps[e].RobustPerExample!;
            var bf16 = low.PerEps[e].RobustPerExample!;
            TestContext.Out.WriteLine($"eps {alone.PerEps[e].Eps}: fooled fp32 {fp32.Count(r => !r)}, bf16 alone {bf16.Count(r => !r)}, screen then confirm {screen.Count(r => !r)} of 12");
            for (int i = 0; i < 12; i++)
            {
                Assert.That(fp32[i] || !screen[i], Is.True, $"example {i} fooled in float32 must be fooled by screen-then-confirm");
                Assert.That(bf16[i] || !screen[i], Is.True, $"example {i} fooled in bf16 stays fooled");
            }
        }
    }
}
