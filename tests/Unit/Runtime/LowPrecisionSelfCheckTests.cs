using Repro.Models;
using Repro.Runtime;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Runtime;

/// <summary>
/// The arithmetic self-check in bfloat16 and float16 (issue 23): every layer configuration against
/// float64 on the same rounded inputs, within <see cref="ArithmeticSelfCheck.BFloat16Tolerance"/> /
/// <see cref="ArithmeticSelfCheck.Float16Tolerance"/>; a model whose low-precision layer is wrong is refused.
/// </summary>
[NonParallelizable]
public class LowPrecisionSelfCheckTests
{
    public static IEnumerable<TestCaseData> Models()
    {
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float16 })
        {
            yield return new TestCaseData("SmallResNet", dtype).SetName($"SmallResNet (the committed CIFAR architecture), {dtype}");
            yield return new TestCaseData("mobilenet_v2", dtype).SetName($"MobileNetV2, {dtype}");
            // The torchvision ResNets (random weights: the check depends on configurations) cost 5-8 s CPU each: run by hand, results in the README.
            yield return new TestCaseData("resnet18", dtype).SetName($"ResNet18 (random weights), {dtype}").Explicit("5-8 s CPU; README: low-precision attacks");
            yield return new TestCaseData("resnet50", dtype).SetName($"ResNet50 (random weights), {dtype}").Explicit("7-8 s CPU; README: low-precision attacks");
        }
    }

    [TestCaseSource(nameof(Models))]
    public void EveryLayerConfigurationAgreesWithFloat64WithinTheStatedTolerance(string name, ScalarType dtype)
    {
        if (!Repro.Attacks.AttackPrecisions.Supported(dtype == ScalarType.BFloat16 ? Repro.Attacks.AttackPrecision.BFloat16 : Repro.Attacks.AttackPrecision.Float16, CPU, out var reason))
            Assert.Ignore($"NOT RUN — no {dtype} kernels here: {reason}");
        if (name == "mobilenet_v2") MobileNetV2File.Require();
        using var _ = NewDisposeScope();
        using nn.Module<Tensor, Tensor> model = name.StartsWith("resnet", StringComparison.Ordinal) ? TorchvisionResNet.Create(name)
            : name == "SmallResNet" ? new SmallResNet() : ModelRegistry.Get(name).Load(TestData.Paths.ModelRoot);
        long[] input = name == "SmallResNet" ? [3, 32, 32] : ArithmeticSelfCheck.ImageNetInput;
        var check = ArithmeticSelfCheck.Run(model, name, input, dtype);
        TestContext.Out.WriteLine(check.Describe());
        foreach (var layer in check.Layers.OrderByDescending(l => l.Worst).Take(3))
            TestContext.Out.WriteLine($"  {layer.Layer} ({layer.Configuration.Describe()}): {layer.Worst:0.0e+00}");
        Assert.That(check.Layers, Is.Not.Empty);
        Assert.That(check.Passed, Is.True, $"{check.Layers.FirstOrDefault(l => !l.Passed)?.FirstFailure()}");
        // The check measures low-precision arithmetic, not float32 in disguise: outputs are rounded to the dtype.
        Assert.That(check.Worst, Is.GreaterThan(ArithmeticSelfCheck.Tolerance));
    }

    [Test]
    public void ALayerWrongOnlyInBFloat16IsRefusedInBFloat16AndPassesInFloat32()
    {
        using var model = new Wrapper(new LowPrecisionDriftPool(0.05));
        Assert.That(ArithmeticSelfCheck.Run(model, "drift", [4, 6, 6]).Passed, Is.True, "float32 is right");
        var error = Assert.Throws<ReproInputException>(() => ArithmeticSelfCheck.Ensure(model, "drift", [4, 6, 6], ScalarType.BFloat16));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("bfloat16").And.Contain("'pool'").And.Contain("tolerance 1e-02"));
    }

    /// <summary>A parameter-free "pooling" layer off by a relative <paramref name="drift"/> in bfloat16 only.</summary>
    sealed class LowPrecisionDriftPool(double drift) : nn.Module<Tensor, Tensor>("LowPrecisionDriftPool")
    {
        public override Tensor forward(Tensor x) => x.dtype == ScalarType.BFloat16 ? x * (1 + drift) : x * 1.0;
    }

    sealed class Wrapper : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> pool;
        public Wrapper(nn.Module<Tensor, Tensor> pool) : base("Wrapper") { this.pool = pool; RegisterComponents(); }
        public override Tensor forward(Tensor x) => pool.call(x);
    }
}
