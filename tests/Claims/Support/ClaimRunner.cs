using Repro.Data;
using Repro.Experiments;
using Repro.Runtime;
using static TorchSharp.torch;

namespace Repro.Tests.Claims.Support;

/// <summary>
/// Runs an experiment the way the main job does and turns its outcome into NUnit results: every
/// check is asserted against the threshold written beside the claim; the full description (all
/// measured numbers, notes, figures) is printed; a claim that cannot run is reported loudly as
/// NOT RUN with its reason and fix (a skipped test, never a pass).
///
/// Device and scale: REPRO_DEVICE (cpu, cuda, cuda:N; default cpu) and REPRO_SCALE (quick or full;
/// default quick on the CPU, full on a GPU). A device that is asked for and absent fails every
/// claim test with one line naming it, never a silent CPU run. TF32 is off, as in <c>repro run</c>.
/// </summary>
internal static class ClaimRunner
{
    public const long Seed = 0;

    /// <summary>The device the claim tests run on (REPRO_DEVICE, default cpu).</summary>
    /// <exception cref="ReproInputException">REPRO_DEVICE names a device that is not valid or not present.</exception>
    public static Device Device => ComputeDevice.FromEnvironment();

    /// <summary>The scale the claim tests run at (REPRO_SCALE, else by <see cref="Device"/>).</summary>
    public static Scale Scale => Scales.Resolve(null, Device);

    /// <summary>
    /// The context the claims run in: the roots from REPRO_DATA/REPRO_MODELS (else the per-user cache),
    /// or the given ones; the device and scale from REPRO_DEVICE/REPRO_SCALE, or the given device.
    /// </summary>
    public static ExperimentContext Context(ReproPaths? paths = null, Device? device = null)
    {
        string output = Path.Combine(ReproPaths.RepositoryRoot(), "TestResults", "figures");
        Directory.CreateDirectory(output);
        device ??= Device;
        ComputeDevice.AllowTf32(false);
        var context = new ExperimentContext(paths ?? ReproPaths.Resolve(), output, Seed, TestContext.Out)
        {
            Device = device, Scale = Scales.Resolve(null, device),
        };
        TestContext.Out.WriteLine($"device {ComputeDevice.Name(context.Device)}{(ComputeDevice.GpuName(context.Device) is string gpu ? $" ({gpu})" : "")}, " +
                                  $"scale {Scales.Name(context.Scale)}, TF32 off");
        return context;
    }

    /// <summary>Runs the experiment as the main job does (<see cref="ExperimentRunner"/>) and asserts its outcome.</summary>
    public static ClaimOutcome Run(IExperiment experiment, ReproPaths? paths = null)
    {
        var outcome = ExperimentRunner.Run(experiment, Context(paths));
        Report(outcome);
        return outcome;
    }

    /// <summary>
    /// For tests that load their inputs themselves (a fixture's set-up): absent data or weights make
    /// them NOT RUN with the reason and the fix, like a claim.
    /// </summary>
    public static T Inputs<T>(string what, Func<T> load)
    {
        try { return load(); }
        catch (MissingInputsException e)
        {
            TestContext.Error.WriteLine($"NOT RUN: {what}: {e.Message}");
            Assert.Ignore($"NOT RUN — {what}: {e.Message}");
            throw; // not reached: Ignore throws
        }
    }

    public static void Report(ClaimOutcome outcome)
    {
        TestContext.Out.WriteLine(outcome.Describe());
        TestContext.Out.WriteLine(Repro.Runtime.ArithmeticSelfCheck.Summary);
        if (outcome.Verdict == Verdict.NotRun)
        {
            TestContext.Error.WriteLine($"NOT RUN: {outcome.Id}: {outcome.NotRunReason}");
            Assert.Ignore($"NOT RUN — {outcome.Id}: {outcome.NotRunReason}");
        }
        Assert.That(outcome.Checks, Is.Not.Empty, "a claim must measure something");
        Assert.Multiple(() =>
        {
            foreach (var check in outcome.Checks)
                Assert.That(check.Holds, Is.True, check.ToString());
        });
    }
}
