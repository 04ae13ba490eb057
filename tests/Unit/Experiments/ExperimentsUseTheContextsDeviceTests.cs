using Repro.Experiments;
using Repro.Runtime;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Experiments;

/// <summary>
/// Every experiment takes its device from its context: run with a context whose device is the
/// <c>meta</c> device (one no experiment would choose by itself, and which this CPU build can name),
/// each experiment's first placement of a model or a tensor (<see cref="DevicePlacement"/>, the seam
/// that experiments and training move things through) must ask for that device. A recording
/// observer notes the placement and stops the run there, before anything is computed, so the test
/// costs only each experiment's data loading. An experiment that placed something on the CPU, or that
/// ran to an outcome without placing anything, fails. (Whether every later tensor follows is checked
/// where a GPU is present: the full suite with REPRO_DEVICE=cuda, and ClaimsAgreeAcrossDevices.)
/// Needs the data of the claims (REPRO_DATA); absent data makes a case NOT RUN.
/// </summary>
[NonParallelizable]
public class ExperimentsUseTheContextsDeviceTests
{
    sealed class StoppedAtPlacement(string what, Device device) : Exception($"stopped at the placement of {what} on {device}")
    {
        public string What { get; } = what;
        public Device Device { get; } = device;
    }

    /// <summary>Every experiment of <c>repro run all</c> and the claim tests' own (shortened and full retraining).</summary>
    static IReadOnlyList<IExperiment> All() =>
        [.. ExperimentCatalog.Create("all"), new ShortAdversarialTrainingBuysRobustness(), new RetrainingReproducesTheCommittedWeights()];

    static IEnumerable<string> Ids => All().Select(e => e.Id);

    [TestCaseSource(nameof(Ids))]
    public void TheFirstPlacementAsksForTheContextsDevice(string id)
    {
        var experiment = All().Single(e => e.Id == id);
        var meta = new Device(DeviceType.META);
        string output = TestData.TempFolder();
        // Full scale, so that the retraining experiment (full scale only) runs too; every experiment
        // stops at its first placement, so the scale costs nothing here.
        var context = new ExperimentContext(TestData.Paths, output, 0, TestContext.Out) { Device = meta, Scale = Scale.Full };

        StoppedAtPlacement? stop = null;
        ClaimOutcome? outcome = null;
        using (DevicePlacement.Observe((what, device) => throw new StoppedAtPlacement(what, device)))
        {
            try { outcome = ExperimentRunner.Run(experiment, context); }
            catch (StoppedAtPlacement e) { stop = e; }
        }

        if (outcome?.Verdict == Verdict.NotRun) TestData.NotRun($"{id}: {outcome.NotRunReason}");
        Assert.That(stop, Is.Not.Null, $"{id} finished ({outcome?.Verdict}) without placing anything through the context's device");
        TestContext.Out.WriteLine($"{id}: first placement: {stop!.What} on {stop.Device}");
        Assert.That(stop.Device.type, Is.EqualTo(DeviceType.META), $"{id} placed {stop.What} on {stop.Device}, not on the context's device");
        Assert.That(Directory.GetFileSystemEntries(output), Is.Empty, "nothing was computed or written before the placement");
    }
}
