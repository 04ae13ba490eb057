using Repro.Data;
using Repro.Experiments;

namespace Repro.Tests.Claims.Support;

/// <summary>
/// Runs an experiment the way the main job does and turns its outcome into NUnit results: every
/// check is asserted against the threshold written beside the claim; the full description (all
/// measured numbers, notes, figures) is printed; a claim that cannot run is reported loudly as
/// NOT RUN with its reason and fix (a skipped test, never a pass).
/// </summary>
public static class ClaimRunner
{
    public const long Seed = 0;

    /// <summary>The context the claims run in: the roots from REPRO_DATA/REPRO_MODELS (else the per-user cache), or the given ones.</summary>
    public static ExperimentContext Context(ReproPaths? paths = null)
    {
        string output = Path.Combine(ReproPaths.RepositoryRoot(), "TestResults", "figures");
        Directory.CreateDirectory(output);
        return new ExperimentContext(paths ?? ReproPaths.Resolve(), output, Seed, TestContext.Out);
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
