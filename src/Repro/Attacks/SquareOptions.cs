namespace Repro.Attacks;

/// <summary>
/// Settings of the Square attack (Andriushchenko, Croce, Flammarion and Hein, ECCV 2020). Defaults:
/// AutoAttack's standard version's 5,000 queries and p_init 0.8, with the schedule of p rescaled to
/// the query budget as in the authors' max-andr/square-attack (AutoAttack builds Square with
/// resc_schedule=False; on the committed standard CIFAR model the rescaled schedule was the stronger:
/// 34–38% accuracy left against 41–47%, measured with the reference code). What varies per call, the seed, example ids, progress and
/// precision, is the call's <see cref="AttackRun"/>.
/// </summary>
public sealed record SquareOptions
{
    /// <summary>Queries per example after the initial one (each is one forward pass of the examples not yet fooled).</summary>
    public int Queries { get; init; } = 5000;
    /// <summary>Initial fraction of the image's pixels a square covers; halved at fixed points of the (rescaled) schedule.</summary>
    public double PInit { get; init; } = 0.8;

    /// <summary>Throws <see cref="ReproInputException"/> naming the setting unless queries are >= 0 and p_init is in (0,1].</summary>
    public void Validate()
    {
        if (Queries < 0) throw new ReproInputException($"Square queries must be >= 0, got {Queries}");
        if (!(PInit > 0 && PInit <= 1)) throw new ReproInputException($"Square p_init must be in (0,1], got {PInit}");
    }

    /// <summary>
    /// The fraction p of pixels a square covers at query <paramref name="query"/> (0-based): p_init,
    /// halved after 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 queries of a 10,000-query
    /// budget, with the query index rescaled to this budget (max-andr/square-attack's schedule; resc_schedule=True in AutoAttack's Square class).
    /// </summary>
    public double P(int query)
    {
        int it = Queries == 0 ? 0 : (int)((double)query / Queries * 10000);
        int[] bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
        int halvings = bounds.Count(b => it > b);
        return PInit / Math.Pow(2, halvings);
    }
}
