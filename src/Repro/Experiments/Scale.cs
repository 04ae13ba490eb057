using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// How much of the article's data a run uses. A scale changes sizes only — how many images a claim
/// is measured on, whether a model is retrained — never a threshold: the bounds beside each claim
/// are the same at both scales. Each experiment states its sizes in one place, a small
/// <c>Sizes</c> record with a <c>For(Scale)</c> method.
/// </summary>
internal enum Scale
{
    /// <summary>Sized for two CPU cores (the suite in minutes): the CPU default.</summary>
    Quick,
    /// <summary>
    /// The article's sizes where the data allows (claim 1 on 256 images, claim 4 on the whole CIFAR
    /// test split, claims 3 and 5 on 64 or more, the CIFAR models retrained from scratch): the GPU default.
    /// </summary>
    Full,
}

/// <summary>Choosing a <see cref="Scale"/>: <c>--scale</c>, else <c>REPRO_SCALE</c>, else by device (quick on the CPU, full on a GPU).</summary>
internal static class Scales
{
    public const string Variable = "REPRO_SCALE";

    /// <exception cref="ReproInputException">Not "quick" or "full" (the source is named).</exception>
    public static Scale Parse(string text, string source = "scale") => text.Trim().ToLowerInvariant() switch
    {
        "quick" => Scale.Quick,
        "full" => Scale.Full,
        _ => throw new ReproInputException($"{source} must be quick or full, got '{text}'"),
    };

    /// <summary>The default for a device: full on a GPU, quick on the CPU.</summary>
    public static Scale DefaultFor(Device device) => device.type == DeviceType.CUDA ? Scale.Full : Scale.Quick;

    /// <summary><paramref name="requested"/> if given, else REPRO_SCALE if set, else <see cref="DefaultFor"/>.</summary>
    /// <param name="requested">The scale asked for (quick or full), or null.</param>
    /// <param name="device">The device whose default applies when neither is given.</param>
    /// <param name="requestedSource">What a message calls <paramref name="requested"/> (a command passes its flag).</param>
    /// <exception cref="ReproInputException">The request or the variable is not quick or full.</exception>
    public static Scale Resolve(string? requested, Device device, string requestedSource = "requested")
    {
        if (!string.IsNullOrWhiteSpace(requested)) return Parse(requested, requestedSource);
        string? variable = Environment.GetEnvironmentVariable(Variable);
        return string.IsNullOrWhiteSpace(variable) ? DefaultFor(device) : Parse(variable, Variable);
    }

    public static string Name(Scale scale) => scale == Scale.Full ? "full" : "quick";

    /// <summary>
    /// The note a claim adds when the data has fewer images than its scale asks for (it then uses
    /// what there is), or null when it had enough.
    /// </summary>
    public static string? Shortfall(Scale scale, long asked, long used, string what) =>
        used >= asked ? null
            : $"the {Name(scale)} scale asks for {asked} {what}; the data here has only {used}, so the claim is measured on those {used} " +
              "(the thresholds are unchanged)";
}
