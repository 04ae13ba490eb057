namespace Repro.Evaluation;

/// <summary>Robust accuracy after one attack of the ensemble at one eps (cumulative: correct under this attack and every earlier one).</summary>
/// <param name="Attack">The attack's name (pgd, apgd-ce, ...).</param>
/// <param name="RobustAccuracy">Fraction of all examples still correct after this attack and the earlier ones, in [0,1].</param>
/// <param name="NewlyFooled">Examples this attack fooled that every earlier attack had left correct.</param>
/// <param name="Attacked">Examples it was run on (those still robust before it).</param>
public sealed record AttackStage(string Attack, double RobustAccuracy, long NewlyFooled, long Attacked, TimeSpan Elapsed);

/// <summary>One eps of a robustness evaluation: the stages in the order the attacks ran, and the final (worst-case) robust accuracy.</summary>
public sealed record EpsResult(double Eps, IReadOnlyList<AttackStage> Stages, double RobustAccuracy, long Robust, IReadOnlyList<SanityFlag> Flags)
{
    /// <summary>Per example: correct under every attack at this eps (the worst case).</summary>
    public required bool[] RobustPerExample { get; init; }
}

/// <summary>A warning sign that a robustness number may not hold (AutoAttack's checks and the field's usual ones), with what was measured.</summary>
/// <param name="Name">Short name (for tables): probabilities, zero-gradients, randomness, gradient-free-wins, eps-monotone, unbounded.</param>
/// <param name="Fired">True when the sign is present.</param>
/// <param name="Detail">What was measured, and what it means when fired.</param>
public sealed record SanityFlag(string Name, bool Fired, string Detail)
{
    public override string ToString() => $"{(Fired ? "FLAG" : "ok")} {Name}: {Detail}";
}

/// <summary>
/// A robustness evaluation: robust accuracy over a list of attacks and eps (worst case per
/// example), the clean accuracy, the sanity flags, and what was run (for the report).
/// </summary>
public sealed record RobustnessResult
{
    public required string Model { get; init; }
    public required string Norm { get; init; }
    public required long Examples { get; init; }
    public required double CleanAccuracy { get; init; }
    public required IReadOnlyList<EpsResult> PerEps { get; init; }
    /// <summary>Flags about the model itself (outputs, gradients, randomness, the unbounded attack) and across eps.</summary>
    public required IReadOnlyList<SanityFlag> Flags { get; init; }
    /// <summary>The attacks in the order they ran, with their budgets.</summary>
    public required IReadOnlyList<(string Name, string Budget)> Attacks { get; init; }
    public required long Seed { get; init; }
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Every flag that fired: the model's, the cross-eps ones and each eps's.</summary>
    public IEnumerable<SanityFlag> FiredFlags => Flags.Concat(PerEps.SelectMany(e => e.Flags)).Where(f => f.Fired);
}
