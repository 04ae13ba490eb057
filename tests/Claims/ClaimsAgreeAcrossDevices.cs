using Repro.Experiments;
using Repro.Runtime;
using Repro.Tests.Claims.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Claims;

/// <summary>
/// Same seed, same scale, CPU and GPU: every claim of <c>repro run all</c> gives the same verdicts,
/// and every measured figure agrees within <see cref="CrossDeviceTolerance"/> (TF32 off). GPU-only:
/// where CUDA is absent each case is skipped with the reason printed. Runs at the quick scale on
/// both devices (the CPU side is the expensive one), on the GPU named by REPRO_DEVICE (else cuda:0).
/// Each case prints both figures, their difference and the tolerance, which is how the tolerances
/// get measured.
/// </summary>
[NonParallelizable]
public class ClaimsAgreeAcrossDevices
{
    static IEnumerable<string> Ids => ExperimentCatalog.Create("all").Select(e => e.Id);

    [TestCaseSource(nameof(Ids))]
    public void SameSeedSameVerdictsOnTheCpuAndTheGpu(string id)
    {
        if (!cuda.is_available())
        {
            const string reason = "NOT RUN — GPU only: CUDA is not available here (CPU libtorch, or no GPU). To fix: run on the GPU runner (README: GPU runner)";
            TestContext.Error.WriteLine(reason);
            Assert.Ignore(reason);
        }
        var gpu = ClaimRunner.Device.type == DeviceType.CUDA ? ClaimRunner.Device : ComputeDevice.Parse("cuda");
        ExperimentContext On(Device device) => ClaimRunner.Context(device: device) with { Scale = Scale.Quick };
        IExperiment Fresh() => ExperimentCatalog.Create("all").Single(e => e.Id == id);

        var onCpu = ExperimentRunner.Run(Fresh(), On(CPU));
        var onGpu = ExperimentRunner.Run(Fresh(), On(gpu));
        TestContext.Out.WriteLine(onCpu.Describe());
        TestContext.Out.WriteLine(onGpu.Describe());
        if (onCpu.Verdict == Verdict.NotRun || onGpu.Verdict == Verdict.NotRun)
            Assert.Ignore($"NOT RUN — {id}: {onCpu.NotRunReason ?? onGpu.NotRunReason}");

        Assert.That(onGpu.Verdict, Is.EqualTo(onCpu.Verdict), "the same verdict on both devices");
        Assert.That(onGpu.Checks.Select(c => c.Threshold), Is.EqualTo(onCpu.Checks.Select(c => c.Threshold)));
        Assert.Multiple(() =>
        {
            foreach (var (cpu, gpuCheck) in onCpu.Checks.Zip(onGpu.Checks))
            {
                double difference = gpuCheck.Measured - cpu.Measured, allowed = CrossDeviceTolerance.For(cpu);
                TestContext.Out.WriteLine($"{cpu.Threshold.Quantity}: cpu {cpu.Measured:G6}, gpu {gpuCheck.Measured:G6}, gpu - cpu {difference:G3} (allowed {allowed:G3})");
                Assert.That(CrossDeviceTolerance.Agree(cpu, gpuCheck), Is.True, $"{cpu.Threshold.Quantity}: cpu {cpu.Measured:G6}, gpu {gpuCheck.Measured:G6}, allowed ±{allowed:G3}");
            }
        });
    }
}
