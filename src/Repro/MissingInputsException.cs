namespace Repro;

/// <summary>
/// The one way to say "the data or weights this needs are not here": raised by the lookups
/// themselves (<see cref="Data.Assets.AssetStore.Require(Data.ReproPaths, IEnumerable{Data.Assets.Asset})"/>,
/// CIFAR-10, ImageNet validation, the model registry), so every experiment gets it without a check of
/// its own. Where experiments are run (<see cref="Experiments.ExperimentRunner"/>) it becomes a
/// NOT RUN outcome carrying <see cref="Reason"/> and <see cref="Fix"/>; elsewhere (eval, attack) it is
/// an input error: one line on stderr, exit code 2.
/// </summary>
/// <param name="reason">What is missing and where it was looked for.</param>
/// <param name="fix">The exact command or file placement that makes it present.</param>
public sealed class MissingInputsException(string reason, string fix) : ReproInputException($"{reason}. To fix: {fix}")
{
    /// <summary>What is missing and where it was looked for.</summary>
    public string Reason { get; } = reason;
    /// <summary>The exact command (e.g. <c>repro fetch cifar10</c>) or file placement that makes it present.</summary>
    public string Fix { get; } = fix;

    /// <summary>The catalogued assets that are missing, with the root each was looked for in (empty when what is missing is not a catalogued asset), so that a run can list them once.</summary>
    internal IReadOnlyList<(Data.Assets.Asset Asset, string Root)> Assets { get; init; } = [];
}
