using Repro.Data;
using Repro.Experiments;

namespace Repro.Tests.Claims.Support;

/// <summary>
/// Runs an experiment the way the main job does and turns its outcome into NUnit results: every
/// check is asserted against the threshold written beside the claim; the full description (all
/// measured numbers, notes, figures) is printed; a claim that cannot run is reported loudly as
/// NOT RUN with its reason (a skipped test, never a pass).
/// </summary>
public static class ClaimRunner
{
    public const long Seed = 0;

    public static ExperimentContext Context()
    {
        string output = Path.Combine(ReproPaths.RepositoryRoot(), "TestResults", "figures");
        Directory.CreateDirectory(output);
        return new ExperimentContext(ReproPaths.Resolve(), output, Seed, TestContext.Out);
    }

    public static ClaimOutcome Run(IExperiment experiment)
    {
        var outcome = experiment.Run(Context());
        Report(outcome);
        return outcome;
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
