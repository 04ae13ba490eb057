using TorchSharp;
using Repro.Data;
using Repro.Runtime;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// What every experiment is given: where data and weights are, where figures go, the seed, a log
/// for progress and the numbers it measures, the device its models and tensors live on, and the
/// scale (how many images; thresholds never change with it). The CLI and the claim tests build one
/// each (the CLI from --device/--scale, the tests from REPRO_DEVICE/REPRO_SCALE). Experiments keep
/// their tensors on <see cref="Device"/> and move them to the CPU only to write figures and numbers.
/// </summary>
internal sealed record ExperimentContext(ReproPaths Paths, string OutputFolder, long Seed, TextWriter Log)
{
    /// <summary>Where models and tensors live (default: the CPU).</summary>
    public Device Device { get; init; } = CPU;

    /// <summary>How much data the claims use (default: quick).</summary>
    public Scale Scale { get; init; } = Scale.Quick;

    /// <summary>Where long steps report their progress (default: nowhere; the command draws bars on a terminal).</summary>
    public ProgressSink Progress { get; init; } = ProgressSinks.None;

    public string Figure(string fileName) => Path.Combine(OutputFolder, fileName);

    /// <summary>A copy of <paramref name="tensor"/> on <see cref="Device"/> (the same tensor's data where it is already there).</summary>
    public Tensor OnDevice(Tensor tensor) => DevicePlacement.To(tensor, Device);

    /// <summary>
    /// <paramref name="set"/> on <see cref="Device"/>: a new set (the caller disposes both; where the
    /// device is the CPU the new set shares the data).
    /// </summary>
    public LabelledImages OnDevice(LabelledImages set) =>
        new(DevicePlacement.To(set.Images, Device, "images"), DevicePlacement.To(set.Labels, Device, "labels"), set.ClassNames);

    /// <summary>Moves <paramref name="model"/> (its parameters and buffers) to <see cref="Device"/> in place and returns it.</summary>
    public T OnDevice<T>(T model) where T : nn.Module => DevicePlacement.To(model, Device);
}

/// <summary>
/// One experiment of the article: runs for real and returns its outcome for one claim. Data or
/// weights that are absent surface as <see cref="MissingInputsException"/> from the lookups; run it
/// through <see cref="ExperimentRunner.Run"/>, which turns that into a NOT RUN outcome.
/// </summary>
internal interface IExperiment
{
    string Id { get; }
    string Title { get; }
    /// <summary>The article's sentence this claim tests (shown for a claim that could not run).</summary>
    string ArticleSays => "";
    ClaimOutcome Run(ExperimentContext context);
}
