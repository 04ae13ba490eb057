namespace Repro.Attacks;

/// <summary>
/// Settings of a projected-gradient-descent run. Defaults are the article's targeted ImageNet
/// attack except the threat model, which the caller always chooses.
/// </summary>
public sealed record PgdOptions
{
    public double StepSize { get; init; } = 0.5;
    public int Steps { get; init; } = 20;
    /// <summary>Start from a uniformly random point of the ball instead of the image itself.</summary>
    public bool RandomStart { get; init; }
    /// <summary>Independent runs from different random starts; each example keeps its best one. Needs <see cref="RandomStart"/> to differ.</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>Return, per example, the best iterate seen instead of the last one.</summary>
    public bool KeepBest { get; init; }
    public long Seed { get; init; }
    /// <summary>Called after every step with (steps done, steps in all, restarts included), for progress bars.</summary>
    public Action<long, long>? Progress { get; init; }

    public void Validate()
    {
        if (!(StepSize > 0) || double.IsNaN(StepSize)) throw new ReproInputException($"step size must be > 0, got {StepSize}");
        if (Steps < 1) throw new ReproInputException($"steps must be >= 1, got {Steps}");
        if (Restarts < 1) throw new ReproInputException($"restarts must be >= 1, got {Restarts}");
    }
}
