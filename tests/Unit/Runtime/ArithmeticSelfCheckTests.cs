using Repro.Models;
using Repro.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Runtime;

/// <summary>The self-check finds every layer, checks each configuration once, and stops on a wrong one, naming it.</summary>
[NonParallelizable]
public class ArithmeticSelfCheckTests
{
    [Test]
    public void TheTraceFindsEveryConvolutionAndLinearLayerOfSmallResNet()
    {
        using var model = new SmallResNet();
        var traced = LayerConfiguration.Trace(model, [3, 32, 32], [1, 2], out var unseen);
        int layers = model.modules().Count(m => m is TorchSharp.Modules.Conv2d or TorchSharp.Modules.Linear);
        foreach (var (c, layer, count) in traced) TestContext.Out.WriteLine($"{layer}: {c.Describe()} x{count}");
        Assert.That(unseen, Is.Empty);
        Assert.That(traced.Sum(t => t.Layers), Is.EqualTo(layers));
        Assert.That(traced.Select(t => t.Configuration.Key), Is.Unique);
        Assert.That(traced.Single(t => t.Layer == "stem").Configuration.Describe(), Is.EqualTo("conv 3→16 3x3 pad 1,1 on 32x32"));
    }

    [Test]
    public void EveryConfigurationOfAModelAgreesWithFloat64AndIsCheckedOncePerProcess()
    {
        using var model = new SmallResNet();
        var first = ArithmeticSelfCheck.Run(model, "SmallResNet", [3, 32, 32]);
        var second = ArithmeticSelfCheck.Run(model, "SmallResNet", [3, 32, 32]);
        TestContext.Out.WriteLine(first.Describe());
        TestContext.Out.WriteLine(second.Describe());
        Assert.That(first.Passed, Is.True);
        Assert.That(first.Worst, Is.LessThan(ArithmeticSelfCheck.Tolerance));
        Assert.That(first.Layers.SelectMany(l => l.Errors).Select(e => e.Batch).Distinct(), Is.EquivalentTo(ArithmeticSelfCheck.Batches));
        for (int i = 0; i < first.Layers.Count; i++)
            Assert.That(second.Layers[i].Errors, Is.SameAs(first.Layers[i].Errors), "a configuration is measured once per process");
    }

    [Test]
    public void AWrongLayerStopsTheCommandNamingTheLayerAndItsError()
    {
        using var model = new Wrapper(new DriftingPool(1e-3));
        var error = Assert.Throws<ReproInputException>(() => ArithmeticSelfCheck.Ensure(model, "drifting", [4, 6, 6]));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("'pool'").And.Contain("DriftingPool").And.Contain("1.0e-03").And.Contain("REPRO_ONEDNN="));
    }

    [Test]
    public void ANaNFailsTheCheck()
    {
        using var model = new Wrapper(new DriftingPool(double.NaN));
        var check = ArithmeticSelfCheck.Run(model, "nan", [4, 5, 5]);
        Assert.That(check.Passed, Is.False);
        Assert.That(check.Worst, Is.NaN);
    }

    [Test]
    public void ALayerTheTraceCannotSeeIsReportedNotPassed()
    {
        using var model = new ForwardCaller();
        var check = ArithmeticSelfCheck.Run(model, "hidden", [3, 8, 8]);
        Assert.That(check.Unseen, Is.EqualTo(new[] { "conv" }));
        Assert.That(check.Passed, Is.False);
        var error = Assert.Throws<ReproInputException>(() => ArithmeticSelfCheck.Ensure(model, "hidden", [3, 8, 8]));
        Assert.That(error!.Message, Does.Contain("conv"));
    }

    [Test]
    public void TheCheckLeavesTheCallersRandomStreamAndTrainingModeAlone()
    {
        using var model = new SmallResNet();
        model.train();
        manual_seed(7);
        float expected = rand(1).item<float>();
        manual_seed(7);
        ArithmeticSelfCheck.Run(model, "SmallResNet", [3, 32, 32]);
        Assert.That(rand(1).item<float>(), Is.EqualTo(expected));
        Assert.That(model.training, Is.True);
    }

    [Test]
    public void CheckingAnArchitectureLeavesTheGlobalRandomStreamAlone()
    {
        manual_seed(11);
        float expected = rand(1).item<float>();
        manual_seed(11);
        var check = ArithmeticSelfCheck.EnsureArchitecture(() => new SmallResNet(), "SmallResNet", [3, 32, 32]);
        Assert.That(check.Passed, Is.True);
        Assert.That(rand(1).item<float>(), Is.EqualTo(expected));
    }

    /// <summary>A parameter-free "pooling" layer whose float32 result is off by a relative <paramref name="drift"/> (float64 exact).</summary>
    sealed class DriftingPool(double drift) : nn.Module<Tensor, Tensor>("DriftingPool")
    {
        public override Tensor forward(Tensor x) => x.dtype == ScalarType.Float32 ? x * (1 + drift) : x * 1.0;
    }

    sealed class Wrapper : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> pool;
        public Wrapper(nn.Module<Tensor, Tensor> pool) : base("Wrapper") { this.pool = pool; RegisterComponents(); }
        public override Tensor forward(Tensor x) => pool.call(x);
    }

    /// <summary>Calls its convolution with forward(), which hooks do not see.</summary>
    sealed class ForwardCaller : nn.Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Conv2d conv = nn.Conv2d(3, 4, 3);
        public ForwardCaller() : base("ForwardCaller") => RegisterComponents();
        public override Tensor forward(Tensor x) => conv.forward(x);
    }
}
