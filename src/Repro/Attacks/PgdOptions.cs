namespace Repro.Attacks;

/// <summary>
/// Settings of projected gradient descent, the same for every call (<see cref="Pgd.Run"/>); what varies
/// per call, the seed, example ids, progress and precision, is the call's <see cref="AttackRun"/>.
/// Defaults are the article's targeted ImageNet attack except the threat model, which the caller always chooses.
/// </summary>
public sealed record PgdOptions
{
    /// <summary>Length of each step in the threat model's norm, in [0,1] pixel units (L2: per-example L2 length; L-inf: each pixel moves by it); default 0.5.</summary>
    public double StepSize { get; init; } = 0.5;
    /// <summary>Gradient steps per run (>= 1); default 20.</summary>
    public int Steps { get; init; } = 20;
    /// <summary>Start from a uniformly random point of the ball instead of the image itself (per-example noise keyed by <see cref="AttackRun.Seed"/> and the example's id).</summary>
    public bool RandomStart { get; init; }
    /// <summary>Independent runs from different random starts; per example they are merged success first, then by loss. Needs <see cref="RandomStart"/> to differ.</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>
    /// Which iterate is returned per example (<see cref="IterateChoice"/>): the latest, success first
    /// (default); the best-loss one (<see cref="IterateChoice.BestLoss"/>), success first; among
    /// successful iterates the one closest to the image (<see cref="IterateChoice.SmallestPerturbation"/>,
    /// for minimal adversarial examples); or the final iterate whatever earlier ones achieved
    /// (<see cref="IterateChoice.Final"/>, not success first: Madry et al.'s adversarial training uses
    /// it, and the committed training recipe relies on it).
    /// </summary>
    public IterateChoice Choice { get; init; } = IterateChoice.Latest;
    /// <summary>Stop attacking an example once an iterate succeeds (it keeps that iterate); saves the steps of examples already fooled.</summary>
    public bool StopOnSuccess { get; init; }
    /// <summary>
    /// Legacy: draw the whole batch's random starts from one CPU generator seeded with <see cref="AttackRun.Seed"/>
    /// (an example's start then depends on its batch). Only for reproducing results made that way:
    /// the committed adversarial-training recipe v1.
    /// </summary>
    public bool BatchGeneratorNoise { get; init; }

    /// <summary>
    /// Throws <see cref="ReproInputException"/> naming the setting unless the step size is positive and
    /// finite, steps and restarts are at least 1, and the iterate choice is consistent. With
    /// <paramref name="dtype"/> (the model's), the step size must also be representable in it (not
    /// overflowing to infinity, not rounding to 0).
    /// </summary>
    public void Validate(TorchSharp.torch.ScalarType? dtype = null)
    {
        if (!(StepSize > 0) || double.IsNaN(StepSize)) throw new ReproInputException($"step size must be > 0, got {StepSize}");
        if (!double.IsFinite(StepSize)) throw new ReproInputException($"step size must be finite, got {StepSize}");
        if (Steps < 1) throw new ReproInputException($"steps must be >= 1, got {Steps}");
        if (Restarts < 1) throw new ReproInputException($"restarts must be >= 1, got {Restarts}");
        if (!Enum.IsDefined(Choice)) throw new ReproInputException($"iterate choice must be one of {string.Join(", ", Enum.GetNames<IterateChoice>())}, got {(int)Choice}");
        if (Choice == IterateChoice.Final && (StopOnSuccess || Restarts > 1))
            throw new ReproInputException("PGD: IterateChoice.Final returns the last iterate of one run; it cannot be combined with StopOnSuccess or restarts");
        if (dtype is { } t) RequireRepresentable("step size", StepSize, t);
    }

    /// <summary>
    /// Throws <see cref="ReproInputException"/> naming <paramref name="name"/> unless the positive finite
    /// <paramref name="value"/> stays finite and nonzero in <paramref name="dtype"/> (float16 holds
    /// 6e-8 to 65504, bfloat16 and float32 about 1e-45 to 3.4e38).
    /// </summary>
    public static void RequireRepresentable(string name, double value, TorchSharp.torch.ScalarType dtype)
    {
        if (!double.IsFinite(value)) throw new ReproInputException($"{name} must be finite, got {value}");
        double stored = dtype switch
        {
            TorchSharp.torch.ScalarType.Float16 => (double)(Half)value,
            TorchSharp.torch.ScalarType.BFloat16 => BFloat16(value),
            TorchSharp.torch.ScalarType.Float32 => (float)value,
            _ => value,
        };
        if (double.IsInfinity(stored)) throw new ReproInputException($"{name} {value} is too large for the model's {dtype} arithmetic");
        if (value != 0 && stored == 0) throw new ReproInputException($"{name} {value} is too small for the model's {dtype} arithmetic (rounds to 0)");
    }

    /// <summary>bfloat16 rounding (round to nearest even on the top 16 bits of a float32).</summary>
    static double BFloat16(double value)
    {
        float f = (float)value;
        if (float.IsInfinity(f)) return f;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        uint rounded = bits + 0x7FFF + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(rounded & 0xFFFF0000);
    }

    /// <summary>What the random starts are for: PGD's own, or feature visualisation's (which runs PGD).</summary>
    internal RandomPurpose NoisePurpose { get; init; } = RandomPurpose.PgdStart;

    internal LoopSettings Loop() => new()
    {
        Steps = Steps, Restarts = Restarts, RandomStart = RandomStart, Purpose = NoisePurpose,
        BatchGeneratorNoise = BatchGeneratorNoise, Choice = Choice, StopOnSuccess = StopOnSuccess,
    };
}
