namespace Repro.Experiments;

/// <summary>
/// How far one claim's measured figures may differ between the CPU and a GPU for the same seed,
/// scale and data (TF32 off, so both compute in float32; random starts, shuffling and SmoothGrad's
/// noise are the same numbers on both devices). What differs is the order of float reductions in
/// the kernels, so an attacked image near the decision boundary may land on the other side, and a
/// ratio of means may move in its third digit. Verdicts must be equal.
///
/// These bounds are estimates, not yet measured on this version (no GPU was lent when they were
/// written; see README: GPU runner). The engine-level differences measured on an H100 (PGD images
/// within 1.5e-4, SmoothGrad within 4e-9 of a largest value of 0.019, feature visualisation
/// identical) suggest they are generous; a GPU run of <c>ClaimsAgreeAcrossDevices</c> measures them.
/// </summary>
internal static class CrossDeviceTolerance
{
    /// <summary>Accuracies, success rates and other fractions ("%" checks): 1 percentage point (5 of claim 4's 500 images).</summary>
    public const double Fraction = 0.01;
    /// <summary>PSNR ("dB" checks).</summary>
    public const double Decibels = 0.25;
    /// <summary>Every other figure (noisiness ratios, norms, correlations): 2% of the CPU's value ...</summary>
    public const double Relative = 0.02;
    /// <summary>... but never less than this, for figures near 0.</summary>
    public const double Absolute = 1e-3;

    /// <summary>The largest allowed |GPU - CPU| for the figure of this check, as measured on the CPU.</summary>
    public static double For(Check onCpu) => onCpu.Threshold.Unit switch
    {
        "%" => Fraction,
        "dB" => Decibels,
        _ => Math.Max(Absolute, Relative * Math.Abs(onCpu.Measured)),
    };

    /// <summary>Same verdict, and the figures within <see cref="For"/>.</summary>
    public static bool Agree(Check onCpu, Check onGpu) =>
        onCpu.Threshold == onGpu.Threshold && onCpu.Holds == onGpu.Holds && Math.Abs(onCpu.Measured - onGpu.Measured) <= For(onCpu);
}
