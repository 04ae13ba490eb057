namespace Repro.Attacks;

/// <summary>
/// Settings of FAB, the fast adaptive boundary attack (Croce and Hein, ICML 2020, <see cref="Fab"/>).
/// Defaults: the reference's (fra31/auto-attack, FABAttack): 100 iterations, 1 restart,
/// alpha_max 0.1, eta 1.05, beta 0.9, and 9 target classes for FAB-T. What varies per call, the
/// seed, example ids and progress, is the call's <see cref="AttackRun"/>.
/// </summary>
public sealed record FabOptions
{
    /// <summary>Iterations per restart (and per target class for FAB-T); each is one forward and one backward pass per class gradient (untargeted: one per class; targeted: one), plus one forward pass to check success.</summary>
    public int Iterations { get; init; } = 100;
    /// <summary>Runs per example (per target class for FAB-T); the first starts at the image, each later one at a random point at distance eps/2 (the reference's random restart).</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>Largest weight alpha of the step from the original image (the bias toward staying close to it), in [0,1].</summary>
    public double AlphaMax { get; init; } = 0.1;
    /// <summary>Overshoot of the projection steps, >= 1.</summary>
    public double Eta { get; init; } = 1.05;
    /// <summary>Backward step: once an iterate is adversarial it moves to original + beta·(iterate − original), in (0,1).</summary>
    public double Beta { get; init; } = 0.9;
    /// <summary>FAB-T: target classes, the ones with the highest clean logits other than the label (at most classes − 1).</summary>
    public int TargetClasses { get; init; } = 9;
    /// <summary>
    /// False (the reference): later restarts and target classes run only on examples not yet fooled within eps.
    /// True: every restart and target class runs on every correctly classified example, so
    /// <see cref="AttackResult.MinimumNorm"/> is FAB's smallest adversarial perturbation whatever eps
    /// is (the random restarts' radius aside) and robust accuracy at every radius comes from one run
    /// (<see cref="Fab.RobustAccuracyCurve"/>).
    /// </summary>
    public bool Exhaustive { get; init; }

    /// <summary>Throws <see cref="ReproInputException"/> naming the setting unless every value is in its range.</summary>
    public void Validate()
    {
        if (Iterations < 1) throw new ReproInputException($"FAB iterations must be >= 1, got {Iterations}");
        if (Restarts < 1) throw new ReproInputException($"FAB restarts must be >= 1, got {Restarts}");
        if (!(AlphaMax >= 0 && AlphaMax <= 1)) throw new ReproInputException($"FAB alpha_max must be in [0,1], got {AlphaMax}");
        if (!(Eta >= 1) || double.IsInfinity(Eta)) throw new ReproInputException($"FAB eta must be a finite number >= 1, got {Eta}");
        if (!(Beta > 0 && Beta < 1)) throw new ReproInputException($"FAB beta must be in (0,1), got {Beta}");
        if (TargetClasses < 1) throw new ReproInputException($"FAB-T target classes must be >= 1, got {TargetClasses}");
    }
}
