using Repro.Attacks;

namespace Repro.Evaluation;

/// <summary>
/// The attacks <c>repro robustness</c> knows by name, and AutoAttack's versions (Croce and Hein 2020)
/// with the reference's budgets (fra31/auto-attack, <c>set_version</c>): "standard" — APGD-CE, APGD-T
/// (9 targets, at most classes − 1), FAB-T (9 targets) and Square (5,000 queries) — and "plus" —
/// APGD-CE and APGD-DLR with 5 restarts, FAB with 5 restarts, Square (5,000 queries, 1 restart as in
/// the reference's code), APGD-T and FAB-T. Adapted to the model's classes: with 3 classes APGD-DLR
/// replaces APGD-T (targeted DLR needs 4), with 2 classes APGD on the logit margin replaces APGD-T and
/// APGD-DLR (DLR is undefined for two classes); FAB-T needs no substitute (it targets the other
/// classes, at most classes − 1). The evaluation runs gradient-free attacks last, so in "plus" Square
/// comes after APGD-T and FAB-T (the reference runs it before them): the final robust accuracy is the
/// same, since each example's result under each attack does not depend on the others.
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
        ("fab", "FAB, minimum-norm fast adaptive boundary attack, 100 iterations, untargeted (Croce & Hein 2020; one backward pass per class per iteration)"),
        ("fab-t", "FAB-T: FAB toward the 9 top other classes in turn, 100 iterations each"),
        ("square", "Square attack, 5,000 queries, score-based (Andriushchenko et al. 2020)"),
    ];

    /// <summary>The preset names <see cref="Parse"/> accepts besides attack names: "standard" and "plus" (AutoAttack's versions).</summary>
    public static IReadOnlyList<string> Presets => ["standard", "plus"];

    /// <summary>Attacks by name (comma-separated list), or a preset, for a model with <paramref name="classes"/> classes.</summary>
    public static IReadOnlyList<IAttack> Parse(string list, int classes, int? squareQueries = null)
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList();
        if (names.Count == 0) throw new ReproInputException("--attacks: no attack named");
        var attacks = new List<IAttack>();
        foreach (var name in names)
        {
            if (name == "standard") { attacks.AddRange(Standard(classes, squareQueries)); continue; }
            if (name == "plus") { attacks.AddRange(Plus(classes, squareQueries)); continue; }
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
            "fab" => new FabAttack(),
            "fab-t" => new FabTargetedAttack(),
            "square" => new SquareAttack(new SquareOptions { Queries = squareQueries ?? new SquareOptions().Queries }),
            _ => throw new ReproInputException($"--attacks: unknown attack '{name}' (known: {string.Join(", ", Known.Select(k => k.Name))}; presets: {string.Join(", ", Presets)})"),
        };
        if (classes < attack.MinimumClasses)
            throw new ReproInputException($"--attacks {name}: needs a model with >= {attack.MinimumClasses} classes, this one has {classes}" +
                (classes == 2 ? " (the DLR losses are undefined for two classes: use apgd-margin, the logit margin, instead)" : " (use apgd-ce or apgd-dlr)"));
        return attack;
    }

    /// <summary>AutoAttack's standard version for a model with <paramref name="classes"/> classes: APGD-CE, APGD-T (or its substitute), FAB-T, Square.</summary>
    /// <param name="classes">The model's number of classes (>= 2).</param>
    /// <param name="squareQueries">Square's query budget; null: 5,000.</param>
    public static IReadOnlyList<IAttack> Standard(int classes, int? squareQueries = null)
    {
        string second = classes >= 4 ? "apgd-t" : classes == 3 ? "apgd-dlr" : "apgd-margin";
        return [Create("apgd-ce", classes), Create(second, classes), Create("fab-t", classes), Create("square", classes, squareQueries)];
    }

    /// <summary>
    /// AutoAttack's plus version for a model with <paramref name="classes"/> classes: APGD-CE and APGD-DLR
    /// (5 restarts each), FAB (5 restarts), Square, APGD-T, FAB-T; with 3 classes APGD-T is left out
    /// (APGD-DLR is already there), with 2 classes APGD-margin (5 restarts) replaces both DLR attacks.
    /// </summary>
    /// <param name="classes">The model's number of classes (>= 2).</param>
    /// <param name="squareQueries">Square's query budget; null: 5,000.</param>
    public static IReadOnlyList<IAttack> Plus(int classes, int? squareQueries = null)
    {
        var fiveRestarts = new ApgdOptions { Restarts = 5 };
        var attacks = new List<IAttack> { new ApgdAttack(ApgdLoss.CrossEntropy, fiveRestarts) };
        attacks.Add(classes >= 3 ? new ApgdAttack(ApgdLoss.Dlr, fiveRestarts) : new ApgdAttack(ApgdLoss.Margin, fiveRestarts));
        attacks.Add(new FabAttack(new FabOptions { Restarts = 5 }));
        attacks.Add(Create("square", classes, squareQueries));
        if (classes >= 4) attacks.Add(Create("apgd-t", classes));
        attacks.Add(Create("fab-t", classes));
        return attacks;
    }
}
