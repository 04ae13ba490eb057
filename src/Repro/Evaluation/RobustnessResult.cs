using Repro.Attacks;

namespace Repro.Evaluation;

/// <summary>Robust accuracy after one attack of the ensemble at one eps (cumulative: correct under this attack and every earlier one).</summary>
/// <param name="Attack">The attack's name (pgd, apgd-ce, ...).</param>
/// <param name="RobustAccuracy">Fraction of all examples still correct after this attack and the earlier ones, in [0,1].</param>
/// <param name="NewlyFooled">Examples this attack fooled that every earlier attack had left correct.</param>
/// <param name="Attacked">Examples it was run on (those still robust before it).</param>
/// <param name="Elapsed">Wall-clock time of this attack at this eps.</param>
public sealed record AttackStage(string Attack, double RobustAccuracy, long NewlyFooled, long Attacked, TimeSpan Elapsed);

/// <summary>One eps of a robustness evaluation: the stages in the order the attacks ran, and the final (worst-case) robust accuracy.</summary>
public sealed record EpsResult(double Eps, IReadOnlyList<AttackStage> Stages, double RobustAccuracy, long Robust, IReadOnlyList<SanityFlag> Flags)
{
    /// <summary>Per example, in increasing order of example id: correct under every attack at this eps (the worst case).</summary>
    public required bool[] RobustPerExample { get; init; }
}

/// <summary>A warning sign that a robustness number may not hold (AutoAttack's checks and the field's usual ones), with what was measured.</summary>
/// <param name="Name">Short name (for tables): probabilities, zero-gradients, randomness, gradient-free-wins, eps-monotone, unbounded.</param>
/// <param name="Fired">True when the sign is present.</param>
/// <param name="Detail">What was measured, and what it means when fired.</param>
public sealed record SanityFlag(string Name, bool Fired, string Detail)
{
    /// <summary>"FLAG" or "ok", the name and the detail, on one line.</summary>
    public override string ToString() => $"{(Fired ? "FLAG" : "ok")} {Name}: {Detail}";
}

/// <summary>
/// A robustness evaluation: robust accuracy over a list of attacks and eps (worst case per
/// example), the clean accuracy, the sanity flags, and what was run (for the report).
/// </summary>
public sealed record RobustnessResult
{
    /// <summary>The evaluated model's name.</summary>
    public required string Model { get; init; }
    /// <summary>The threat model's norm.</summary>
    public required Norm Norm { get; init; }
    /// <summary>Number of examples evaluated.</summary>
    public required long Examples { get; init; }
    /// <summary>Fraction of the examples the model classifies correctly without attack, in [0,1].</summary>
    public required double CleanAccuracy { get; init; }
    /// <summary>One result per eps, in the order evaluated.</summary>
    public required IReadOnlyList<EpsResult> PerEps { get; init; }
    /// <summary>Flags about the model itself (outputs, gradients, randomness, the unbounded attack) and across eps.</summary>
    public required IReadOnlyList<SanityFlag> Flags { get; init; }
    /// <summary>The attacks in the order they ran, with their budgets.</summary>
    public required IReadOnlyList<(string Name, string Budget)> Attacks { get; init; }
    /// <summary>The seed that, with each example's id, keyed every random number.</summary>
    public required long Seed { get; init; }
    /// <summary>Wall-clock time of the whole evaluation.</summary>
    public required TimeSpan Elapsed { get; init; }
    /// <summary>The records every number here was computed from (<see cref="RobustnessSummary"/>).</summary>
    public IReadOnlyList<RobustnessRecord> Records { get; init; } = [];

    /// <summary>Every flag that fired: the model's, the cross-eps ones and each eps's.</summary>
    public IEnumerable<SanityFlag> FiredFlags => Flags.Concat(PerEps.SelectMany(e => e.Flags)).Where(f => f.Fired);
}
