namespace Repro.Attacks;

/// <summary>
/// The norm of a threat model's ball, apart from its radius: what a robustness evaluation over
/// several radii, its sanity checks and its records need to know. <see cref="NormExtensions.Ball"/>
/// makes the <see cref="ThreatModel"/> of one radius.
/// </summary>
public enum Norm
{
    /// <summary>The Euclidean norm: <see cref="L2Ball"/>.</summary>
    L2,
    /// <summary>The maximum norm: <see cref="LinfBall"/>.</summary>
    Linf,
}

/// <summary>A <see cref="Norm"/>'s ball, its name in files and its name in prose.</summary>
public static class NormExtensions
{
    /// <summary>The ball of radius <paramref name="eps"/> (in [0,1] pixel units) in <paramref name="norm"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a member of <see cref="Norm"/>.</exception>
    public static ThreatModel Ball(this Norm norm, double eps) => norm switch
    {
        Norm.L2 => new L2Ball(eps),
        Norm.Linf => new LinfBall(eps),
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "not a norm"),
    };

    /// <summary>The name written in manifests, records and tables: "l2" or "linf" (what <see cref="Norms.Parse"/> reads).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a member of <see cref="Norm"/>.</exception>
    public static string Name(this Norm norm) => norm switch
    {
        Norm.L2 => "l2",
        Norm.Linf => "linf",
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "not a norm"),
    };

    /// <summary>The name in prose (titles, reports): "L2" or "L-inf".</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a member of <see cref="Norm"/>.</exception>
    public static string Display(this Norm norm) => norm switch
    {
        Norm.L2 => "L2",
        Norm.Linf => "L-inf",
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "not a norm"),
    };
}

/// <summary>Reading a <see cref="Norm"/> from text.</summary>
public static class Norms
{
    /// <summary>Every norm, in declaration order.</summary>
    public static IReadOnlyList<Norm> All { get; } = [Norm.L2, Norm.Linf];

    /// <summary>The norm named <paramref name="text"/>: "l2" or "linf" (<see cref="NormExtensions.Name"/>), in any case, surrounding spaces ignored.</summary>
    /// <param name="text">The name.</param>
    /// <param name="source">What a message calls the text's origin (a parameter, a file's field; a command passes its flag).</param>
    /// <exception cref="ReproInputException">Neither name; names <paramref name="source"/> and the text.</exception>
    public static Norm Parse(string? text, string source = "norm") =>
        All.Cast<Norm?>().FirstOrDefault(n => string.Equals(n!.Value.Name(), text?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ReproInputException($"{source} must be l2 or linf, got '{text}'");
}
