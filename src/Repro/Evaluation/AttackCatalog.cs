using Repro.Attacks;

namespace Repro.Evaluation;

/// <summary>
/// The attacks <c>repro robustness</c> knows by name, and the standard preset: AutoAttack's
/// standard version (Croce and Hein 2020) without FAB-T — APGD-CE, APGD-T (9 targets, at most
/// classes − 1) and Square (5,000 queries) — adapted to the model's classes: with 3 classes APGD-DLR
/// replaces APGD-T (targeted DLR needs 4), with 2 classes APGD on the logit margin does (DLR is
/// undefined for two classes).
/// </summary>
public static class AttackCatalog
{
    /// <summary>Every attack known by name, with a one-line description of its budget and source.</summary>
    public static readonly IReadOnlyList<(string Name, string Description)> Known =
    [
        ("pgd", "PGD, 20 steps of 0.4·eps on the cross-entropy from the image (the article's attack: step 0.5 at eps 1.25)"),
        ("apgd-ce", "APGD on the cross-entropy, 100 iterations (Croce & Hein 2020)"),
        ("apgd-dlr", "APGD on the DLR loss, 100 iterations (>= 3 classes)"),
        ("apgd-margin", "APGD on the logit margin, 100 iterations (the DLR stand-in for two-class models)"),
        ("apgd-t", "APGD-T: targeted DLR toward the 9 top other classes in turn, 100 iterations each (>= 4 classes)"),
        ("square", "Square attack, 5,000 queries, score-based (Andriushchenko et al. 2020)"),
    ];

    /// <summary>The preset names <see cref="Parse"/> accepts besides attack names: "standard".</summary>
    public static IReadOnlyList<string> Presets => ["standard"];

    /// <summary>Attacks by name (comma-separated list), or a preset, for a model with <paramref name="classes"/> classes.</summary>
    public static IReadOnlyList<IAttack> Parse(string list, int classes, int? squareQueries = null)
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList();
        if (names.Count == 0) throw new ReproInputException("--attacks: no attack named");
        var attacks = new List<IAttack>();
        foreach (var name in names)
        {
            if (name == "standard") { attacks.AddRange(Standard(classes, squareQueries)); continue; }
            attacks.Add(Create(name, classes, squareQueries));
        }
        return attacks;
    }

    /// <summary>The attack named <paramref name="name"/> (one of <see cref="Known"/>) for a model with <paramref name="classes"/> classes.</summary>
    /// <param name="name">Lower-case attack name, e.g. "apgd-ce".</param>
    /// <param name="classes">The model's number of classes.</param>
    /// <param name="squareQueries">Query budget for "square"; null for the <see cref="SquareOptions"/> default.</param>
    /// <exception cref="ReproInputException">The name is unknown, or the model has fewer classes than the attack needs.</exception>
    public static IAttack Create(string name, int classes, int? squareQueries = null)
    {
        IAttack attack = name switch
        {
            "pgd" => new PgdAttack(),
            "apgd-ce" => new ApgdAttack(ApgdLoss.CrossEntropy),
            "apgd-dlr" => new ApgdAttack(ApgdLoss.Dlr),
            "apgd-margin" => new ApgdAttack(ApgdLoss.Margin),
            "apgd-t" => new ApgdTargetedAttack(),
            "square" => new SquareAttack(new SquareOptions { Queries = squareQueries ?? new SquareOptions().Queries }),
            _ => throw new ReproInputException($"--attacks: unknown attack '{name}' (known: {string.Join(", ", Known.Select(k => k.Name))}; preset: standard)"),
        };
        if (classes < attack.MinimumClasses)
            throw new ReproInputException($"--attacks {name}: needs a model with >= {attack.MinimumClasses} classes, this one has {classes}" +
                (classes == 2 ? " (the DLR losses are undefined for two classes: use apgd-margin, the logit margin, instead)" : " (use apgd-ce or apgd-dlr)"));
        return attack;
    }

    /// <summary>AutoAttack's standard version (without FAB-T) for a model with <paramref name="classes"/> classes.</summary>
    public static IReadOnlyList<IAttack> Standard(int classes, int? squareQueries = null)
    {
        string second = classes >= 4 ? "apgd-t" : classes == 3 ? "apgd-dlr" : "apgd-margin";
        return [Create("apgd-ce", classes), Create(second, classes), Create("square", classes, squareQueries)];
    }
}
