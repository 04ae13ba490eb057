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

    /// <summary>
    /// Attacks by name or preset, comma-separated, matched case-insensitively ("APGD-CE" is "apgd-ce"),
    /// for a model with <paramref name="classes"/> classes.
    /// </summary>
    /// <param name="list">Names of <see cref="Known"/> attacks and <see cref="Presets"/>, e.g. "standard" or "apgd-ce,square".</param>
    /// <param name="classes">The model's number of classes (>= 2).</param>
    /// <param name="squareQueries">Query budget for "square"; null for the <see cref="SquareOptions"/> default.</param>
    /// <exception cref="ArgumentNullException"><paramref name="list"/> is null.</exception>
    /// <exception cref="ReproArgumentException">No name, an unknown name (parameter <c>list</c>), or an attack that needs more classes (parameter <c>classes</c>).</exception>
    public static IReadOnlyList<IAttack> Parse(string list, int classes, int? squareQueries = null)
    {
        var attacks = new List<IAttack>();
        foreach (var name in Names(list))
        {
            if (name == "standard") { attacks.AddRange(Standard(classes, squareQueries)); continue; }
            if (name == "plus") { attacks.AddRange(Plus(classes, squareQueries)); continue; }
            attacks.Add(Create(name, classes, squareQueries));
        }
        return attacks;
    }

    /// <summary>
    /// Checks that every name in <paramref name="list"/> is a known attack or preset without needing a
    /// model (a command checks its arguments before it loads one); the class count is checked by <see cref="Parse"/>.
    /// </summary>
    /// <exception cref="ReproArgumentException">No name, or an unknown one (parameter <c>list</c>).</exception>
    public static void CheckNames(string list)
    {
        foreach (var name in Names(list))
            if (!Presets.Contains(name) && !Known.Any(k => k.Name == name)) throw Unknown(nameof(list), name);
    }

    static List<string> Names(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList();
        return names.Count > 0 ? names : throw new ReproArgumentException(nameof(list), "no attack named");
    }

    static ReproArgumentException Unknown(string parameter, string name) =>
        new(parameter, $"unknown attack '{name}' (known: {string.Join(", ", Known.Select(k => k.Name))}; presets: {string.Join(", ", Presets)})");

    /// <summary>The attack named <paramref name="name"/> (one of <see cref="Known"/>, any letter case) for a model with <paramref name="classes"/> classes.</summary>
    /// <param name="name">Attack name, e.g. "apgd-ce" or "APGD-CE".</param>
    /// <param name="classes">The model's number of classes.</param>
    /// <param name="squareQueries">Query budget for "square"; null for the <see cref="SquareOptions"/> default.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ReproArgumentException">The name is unknown (parameter <c>name</c>), or the model has fewer classes than the attack needs (parameter <c>classes</c>).</exception>
    public static IAttack Create(string name, int classes, int? squareQueries = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().ToLowerInvariant();
        IAttack attack = key switch
        {
            "pgd" => new PgdAttack(),
            "apgd-ce" => new ApgdAttack(ApgdLoss.CrossEntropy),
            "apgd-dlr" => new ApgdAttack(ApgdLoss.Dlr),
            "apgd-margin" => new ApgdAttack(ApgdLoss.Margin),
            "apgd-t" => new ApgdTargetedAttack(),
            "fab" => new FabAttack(),
            "fab-t" => new FabTargetedAttack(),
            "square" => new SquareAttack(new SquareOptions { Queries = squareQueries ?? new SquareOptions().Queries }),
            _ => throw Unknown(nameof(name), key),
        };
        if (classes < attack.MinimumClasses)
            throw new ReproArgumentException(nameof(classes), $"{key} needs a model with >= {attack.MinimumClasses} classes, this one has {classes}" +
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
