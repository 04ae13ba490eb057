using Repro.Experiments;
using Repro.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Runtime;

/// <summary>
/// The one device setting (--device / REPRO_DEVICE), the scale (--scale / REPRO_SCALE), TF32 and the
/// placement seam: what is accepted, what is refused and how, and what the defaults are.
/// </summary>
[NonParallelizable]
public class ComputeDeviceTests
{
    static T WithVariable<T>(string name, string? value, Func<T> body)
    {
        string? previous = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        try { return body(); }
        finally { Environment.SetEnvironmentVariable(name, previous); }
    }

    [TestCase("cpu")]
    [TestCase(" CPU ")]
    [TestCase(null)]
    public void TheCpuIsAccepted(string? text)
    {
        var device = ComputeDevice.Parse(text);
        Assert.That(device.type, Is.EqualTo(DeviceType.CPU));
        Assert.That(ComputeDevice.Name(device), Is.EqualTo("cpu"));
        Assert.That(ComputeDevice.GpuName(device), Is.Null);
    }

    [TestCase("tpu")]
    [TestCase("cuda:x")]
    [TestCase("cuda:-1")]
    [TestCase("gpu")]
    public void AnUnknownDeviceIsRefusedWithItsSourceAndValue(string text)
    {
        var e = Assert.Throws<ReproInputException>(() => ComputeDevice.Parse(text, "REPRO_DEVICE"))!;
        Assert.That(e.Message, Does.StartWith("REPRO_DEVICE must be cpu, cuda or cuda:N").And.Contain($"'{text}'"));
    }

    /// <summary>CUDA where none is present is refused (never replaced by the CPU); where one is, cuda means cuda:0.</summary>
    [TestCase("cuda")]
    [TestCase("cuda:0")]
    public void CudaIsRefusedOnlyWhereItIsMissing(string text)
    {
        if (cuda.is_available())
        {
            var device = ComputeDevice.Parse(text);
            Assert.That((device.type, ComputeDevice.Name(device)), Is.EqualTo((DeviceType.CUDA, "cuda:0")));
            Assert.That(ComputeDevice.GpuName(device), Is.Not.Null.And.Not.Empty);
            TestContext.Out.WriteLine($"GPU: {ComputeDevice.GpuName(device)}");
        }
        else
        {
            var e = Assert.Throws<ReproInputException>(() => ComputeDevice.Parse(text, "--device"))!;
            Assert.That(e.Message, Does.StartWith($"--device {text}: no CUDA device"));
            Assert.That(e.Message, Does.Not.Contain("\n"));
        }
    }

    [Test]
    public void TheEnvironmentNamesTheDeviceAndDefaultsToTheCpu()
    {
        Assert.That(WithVariable(ComputeDevice.Variable, null, ComputeDevice.FromEnvironment).type, Is.EqualTo(DeviceType.CPU));
        Assert.That(WithVariable(ComputeDevice.Variable, "cpu", ComputeDevice.FromEnvironment).type, Is.EqualTo(DeviceType.CPU));
        var e = Assert.Throws<ReproInputException>(() => WithVariable(ComputeDevice.Variable, "tpu", ComputeDevice.FromEnvironment))!;
        Assert.That(e.Message, Does.Contain("REPRO_DEVICE").And.Contain("tpu"));
    }

    [Test]
    public void TheScaleIsTheOptionElseTheEnvironmentElseTheDevicesDefault()
    {
        Assert.That(Scales.DefaultFor(CPU), Is.EqualTo(Scale.Quick));
        Assert.That(WithVariable(Scales.Variable, null, () => Scales.Resolve(null, CPU)), Is.EqualTo(Scale.Quick));
        Assert.That(WithVariable(Scales.Variable, "full", () => Scales.Resolve(null, CPU)), Is.EqualTo(Scale.Full));
        Assert.That(WithVariable(Scales.Variable, "full", () => Scales.Resolve("quick", CPU)), Is.EqualTo(Scale.Quick), "the option wins");
        Assert.That(WithVariable(Scales.Variable, null, () => Scales.Resolve(" FULL ", CPU)), Is.EqualTo(Scale.Full));
        Assert.That(Assert.Throws<ReproInputException>(() => Scales.Resolve("huge", CPU, "--scale"))!.Message, Does.StartWith("--scale must be quick or full").And.Contain("huge"));
        Assert.That(Assert.Throws<ReproInputException>(() => WithVariable(Scales.Variable, "huge", () => Scales.Resolve(null, CPU)))!.Message,
            Does.StartWith("REPRO_SCALE must be quick or full"));
        if (cuda.is_available()) Assert.That(Scales.DefaultFor(CUDA), Is.EqualTo(Scale.Full));
    }

    [Test]
    public void AShortfallOfImagesIsSaidOnlyWhenThereIsOne()
    {
        Assert.That(Scales.Shortfall(Scale.Full, 256, 256, "images"), Is.Null);
        Assert.That(Scales.Shortfall(Scale.Full, 256, 300, "images"), Is.Null);
        Assert.That(Scales.Shortfall(Scale.Full, 256, 200, "correctly classified validation images"),
            Does.Contain("full scale asks for 256 correctly classified validation images").And.Contain("only 200").And.Contain("thresholds are unchanged"));
    }

    /// <summary>TF32 is a flag of libtorch's global context: it can be set and read without a GPU, and both CUDA switches follow it.</summary>
    [Test]
    public void Tf32IsSwitchedForMatrixProductsAndConvolutionsTogether()
    {
        bool matmul = backends.cuda.matmul.allow_tf32, cudnn = backends.cudnn.allow_tf32;
        try
        {
            ComputeDevice.AllowTf32(true);
            Assert.That((backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32, ComputeDevice.Tf32Allowed), Is.EqualTo((true, true, true)));
            ComputeDevice.AllowTf32(false);
            Assert.That((backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32, ComputeDevice.Tf32Allowed), Is.EqualTo((false, false, false)));
        }
        finally
        {
            backends.cuda.matmul.allow_tf32 = matmul;
            backends.cudnn.allow_tf32 = cudnn;
        }
    }

    [Test]
    public void AnObserverSeesEveryPlacementUntilItIsDisposed()
    {
        using var scope = NewDisposeScope();
        var seen = new List<string>();
        using (DevicePlacement.Observe((what, device) => seen.Add($"{what} -> {ComputeDevice.Name(device)}")))
        {
            var moved = DevicePlacement.To(zeros(2, 3), CPU, "images");
            Assert.That(moved.device_type, Is.EqualTo(DeviceType.CPU));
            DevicePlacement.To(nn.Linear(3, 2), CPU);
        }
        DevicePlacement.To(zeros(1), CPU);
        Assert.That(seen, Is.EqualTo(new[] { "images [2,3] Float32 -> cpu", "model Linear -> cpu" }));
    }

    [Test]
    public void CrossDeviceTolerancesDependOnTheUnitAndVerdictsMustAgree()
    {
        var fraction = Threshold.AtLeast("accuracy", 0.7, "%");
        var ratio = Threshold.AtMost("ratio", 0.9);
        Assert.That(CrossDeviceTolerance.For(fraction.Measure(0.75, "")), Is.EqualTo(0.01));
        Assert.That(CrossDeviceTolerance.For(Threshold.AtMost("psnr", 25, "dB").Measure(7, "")), Is.EqualTo(0.25));
        Assert.That(CrossDeviceTolerance.For(ratio.Measure(0.6, "")), Is.EqualTo(0.012).Within(1e-12));
        Assert.That(CrossDeviceTolerance.For(ratio.Measure(0.0, "")), Is.EqualTo(1e-3));
        Assert.That(CrossDeviceTolerance.Agree(fraction.Measure(0.750, ""), fraction.Measure(0.758, "")), Is.True);
        Assert.That(CrossDeviceTolerance.Agree(fraction.Measure(0.750, ""), fraction.Measure(0.762, "")), Is.False, "beyond 1 point");
        Assert.That(CrossDeviceTolerance.Agree(fraction.Measure(0.702, ""), fraction.Measure(0.698, "")), Is.False, "a different verdict never agrees");
        Assert.That(CrossDeviceTolerance.Agree(fraction.Measure(0.75, ""), ratio.Measure(0.75, "")), Is.False, "different checks");
    }
}
