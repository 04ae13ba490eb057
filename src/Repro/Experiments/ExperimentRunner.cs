namespace Repro.Experiments;

/// <summary>
/// Where experiments are run, by the main job (<c>repro run</c>) and by the claim tests alike: a
/// claim whose data or weights are absent (<see cref="MissingInputsException"/>, raised by the
/// lookups) becomes a NOT RUN outcome with the reason and the fix, never an error that stops the run.
/// </summary>
internal static class ExperimentRunner
{
    public static ClaimOutcome Run(IExperiment experiment, ExperimentContext context)
    {
        try
        {
            return experiment.Run(context);
        }
        catch (MissingInputsException e)
        {
            return ClaimOutcome.NotRun(experiment.Id, experiment.Title, experiment.ArticleSays, e.Message) with { NotRunFix = e.Fix, MissingAssets = e.Assets };
        }
    }
}
