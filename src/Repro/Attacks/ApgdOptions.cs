namespace Repro.Attacks;

/// <summary>
/// Settings of Auto-PGD (Croce and Hein, ICML 2020). Defaults are the published ones (the
/// reference implementation's, fra31/auto-attack): 100 iterations, momentum 0.75, initial step
/// 2·eps, step halving at the checkpoints when fewer than rho = 0.75 of the steps since the last
/// checkpoint raised the loss or when neither the step nor the best loss changed, one run from a
/// random start. What varies per call, the seed, example ids, progress and precision, is the call's
/// <see cref="AttackRun"/>.
/// </summary>
public sealed record ApgdOptions
{
    /// <summary>Iterations (one forward + input-backward pass each; one more forward pass measures the last iterate).</summary>
    public int Iterations { get; init; } = 100;
    /// <summary>Independent runs from random starts (>= 1), merged per example success first, then by loss; default 1.</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>Weight α of the new projected step; 1 − α goes to the previous update (paper: 0.75).</summary>
    public double Momentum { get; init; } = 0.75;
    /// <summary>Checkpoint condition 1: halve the step when at most this fraction of the steps since the last checkpoint raised the loss.</summary>
    public double Rho { get; init; } = 0.75;
    /// <summary>Initial step size in units of eps (paper: 2·eps for L2 and L-inf).</summary>
    public double InitialStep { get; init; } = 2.0;
    /// <summary>Number of target classes for APGD-T (the ones with the highest clean logits other than the label; at most classes − 1). AutoAttack's standard version: 9.</summary>
    public int TargetClasses { get; init; } = 9;
    /// <summary>Drop an example once it is fooled (robust-accuracy evaluation needs nothing more); false keeps optimising its loss among successful iterates.</summary>
    public bool StopOnSuccess { get; init; } = true;

    /// <summary>
    /// Throws <see cref="ReproInputException"/> naming the setting unless iterations, restarts and target
    /// classes are at least 1, momentum and rho are in (0,1], and the initial step is positive and finite.
    /// </summary>
    public void Validate()
    {
        if (Iterations < 1) throw new ReproInputException($"APGD iterations must be >= 1, got {Iterations}");
        if (Restarts < 1) throw new ReproInputException($"APGD restarts must be >= 1, got {Restarts}");
        if (!(Momentum > 0 && Momentum <= 1)) throw new ReproInputException($"APGD momentum must be in (0,1], got {Momentum}");
        if (!(Rho > 0 && Rho <= 1)) throw new ReproInputException($"APGD rho must be in (0,1], got {Rho}");
        if (!(InitialStep > 0) || double.IsInfinity(InitialStep)) throw new ReproInputException($"APGD initial step must be > 0, got {InitialStep}");
        if (TargetClasses < 1) throw new ReproInputException($"APGD-T target classes must be >= 1, got {TargetClasses}");
    }

    /// <summary>
    /// The checkpoints w_j as iteration counts (p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)
    /// of the iterations, in the reference's integer form): for 100 iterations 22, 41, 57, 70, 80, 87, 93, 99.
    /// </summary>
    /// <param name="iterations">The run's iterations.</param>
    public static IReadOnlyList<int> Checkpoints(int iterations)
    {
        int interval = Math.Max((int)(0.22 * iterations), 1), shortest = Math.Max((int)(0.06 * iterations), 1), shrink = Math.Max((int)(0.03 * iterations), 1);
        var points = new List<int>();
        for (int at = interval; at <= iterations; at += interval = Math.Max(interval - shrink, shortest))
            points.Add(at);
        return points;
    }
}
