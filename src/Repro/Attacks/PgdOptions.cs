namespace Repro.Attacks;

/// <summary>
/// Settings of a projected-gradient-descent run. Defaults are the article's targeted ImageNet
/// attack except the threat model, which the caller always chooses.
/// </summary>
public sealed record PgdOptions
{
    public double StepSize { get; init; } = 0.5;
    public int Steps { get; init; } = 20;
    /// <summary>Start from a uniformly random point of the ball instead of the image itself (per-example noise, see <see cref="ExampleIds"/>).</summary>
    public bool RandomStart { get; init; }
    /// <summary>Independent runs from different random starts; per example they are merged success first, then by loss. Needs <see cref="RandomStart"/> to differ.</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>
    /// Success first, then per example the best-loss iterate seen instead of the latest: the
    /// returned iterate is a successful one if any was, the best-loss one among those.
    /// </summary>
    public bool KeepBest { get; init; }
    /// <summary>Among successful iterates, return the one closest to the image (the threat model's norm) — for minimal adversarial examples.</summary>
    public bool SmallestPerturbation { get; init; }
    /// <summary>
    /// Return the final iterate whatever earlier ones achieved (not success first): Madry et al.'s
    /// adversarial training uses it, and the committed training recipe relies on it.
    /// </summary>
    public bool FinalIterate { get; init; }
    /// <summary>Stop attacking an example once an iterate succeeds (it keeps that iterate); saves the steps of examples already fooled.</summary>
    public bool StopOnSuccess { get; init; }
    public long Seed { get; init; }
    /// <summary>
    /// One id per example of the batch (dataset index, or <see cref="Attacks.ExampleIds.OfName"/> of a
    /// file name): with <see cref="Seed"/> it alone decides an example's random start. Null: the hash
    /// of the image's pixels (<see cref="Attacks.ExampleIds.OfContent"/>).
    /// </summary>
    public IReadOnlyList<long>? ExampleIds { get; init; }
    /// <summary>
    /// Legacy: draw the whole batch's random starts from one CPU generator seeded with <see cref="Seed"/>
    /// (an example's start then depends on its batch). Only for reproducing results made that way:
    /// the committed adversarial-training recipe v1.
    /// </summary>
    public bool BatchGeneratorNoise { get; init; }
    /// <summary>Called after every step with (steps done, steps in all, restarts included), for progress bars.</summary>
    public Action<long, long>? Progress { get; init; }

    public IterateChoice Choice =>
        FinalIterate ? IterateChoice.Final : SmallestPerturbation ? IterateChoice.SmallestPerturbation : KeepBest ? IterateChoice.BestLoss : IterateChoice.Latest;

    public void Validate()
    {
        if (!(StepSize > 0) || double.IsNaN(StepSize)) throw new ReproInputException($"step size must be > 0, got {StepSize}");
        if (Steps < 1) throw new ReproInputException($"steps must be >= 1, got {Steps}");
        if (Restarts < 1) throw new ReproInputException($"restarts must be >= 1, got {Restarts}");
        if (FinalIterate && (KeepBest || SmallestPerturbation || StopOnSuccess || Restarts > 1))
            throw new ReproInputException("PGD: FinalIterate returns the last iterate of one run; it cannot be combined with KeepBest, SmallestPerturbation, StopOnSuccess or restarts");
        if (KeepBest && SmallestPerturbation) throw new ReproInputException("PGD: choose KeepBest or SmallestPerturbation, not both");
    }

    internal LoopSettings Loop() => new()
    {
        Steps = Steps, Restarts = Restarts, RandomStart = RandomStart, Seed = Seed, ExampleIds = ExampleIds, NoiseStream = 0,
        BatchGeneratorNoise = BatchGeneratorNoise, Choice = Choice, StopOnSuccess = StopOnSuccess, Progress = Progress,
    };
}
