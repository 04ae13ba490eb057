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

/// <summary>
/// One experiment of the article: runs for real and returns its outcome for one claim. Data or
/// weights that are absent surface as <see cref="MissingInputsException"/> from the lookups; run it
/// through <see cref="ExperimentRunner.Run"/>, which turns that into a NOT RUN outcome.
/// </summary>
public interface IExperiment
{
    string Id { get; }
    string Title { get; }
    /// <summary>The article's sentence this claim tests (shown for a claim that could not run).</summary>
    string ArticleSays => "";
    ClaimOutcome Run(ExperimentContext context);
}
