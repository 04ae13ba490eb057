using Repro.Data;

namespace Repro.Experiments;

/// <summary>
/// What every experiment is given: where data and weights are, where figures go, the seed, and a
/// log for progress and the numbers it measures. The CLI and the claim tests build one each.
/// </summary>
public sealed record ExperimentContext(ReproPaths Paths, string OutputFolder, long Seed, TextWriter Log)
{
    public string Figure(string fileName) => Path.Combine(OutputFolder, fileName);
}

/// <summary>One experiment of the article: runs for real and returns its outcome for one claim.</summary>
public interface IExperiment
{
    string Id { get; }
    string Title { get; }
    ClaimOutcome Run(ExperimentContext context);
}
