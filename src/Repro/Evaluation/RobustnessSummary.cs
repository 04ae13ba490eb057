using Repro.Attacks;

namespace Repro.Evaluation;

/// <summary>An attack of an evaluation as the records and the manifest name it: name, budget in words, and whether it is gradient-free.</summary>
/// <param name="Name">The attack's name (apgd-ce, square, ...).</param>
/// <param name="Budget">Its budget in words.</param>
/// <param name="GradientFree">Score-based: compared with the gradient attacks by the gradient-free-wins flag.</param>
public sealed record AttackInfo(string Name, string Budget, bool GradientFree);

/// <summary>
/// The table, the per-eps results and every sanity flag of a robustness evaluation, computed from its
/// records alone (<see cref="RobustnessRecord"/>): a one-machine run and a merge of shards give the same
/// summary because they have the same records.
/// </summary>
public static class RobustnessSummary
{
    /// <summary>Summarises <paramref name="records"/> (any order; one row per example, eps and stage).</summary>
    /// <param name="model">The model's name.</param>
    /// <param name="norm">The threat model's norm.</param>
    /// <param name="attacks">The attacks in the order they ran (stage 0 first).</param>
    /// <param name="seed">The evaluation's seed.</param>
    /// <param name="records">Every record of the evaluation.</param>
    /// <param name="elapsed">Wall-clock time, for the report.</param>
    /// <exception cref="ArgumentException">No records, or records of a stage missing for an example.</exception>
    public static RobustnessResult FromRecords(string model, Norm norm, IReadOnlyList<AttackInfo> attacks, long seed, IReadOnlyList<RobustnessRecord> records, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(attacks);
        if (records.Count == 0) throw new ArgumentException("no records to summarise", nameof(records));
        var ids = records.Select(r => r.ExampleId).Distinct().Order().ToArray();
        long n = ids.Length;
        var eps = records.Select(r => r.Eps).Distinct().Order().ToArray();
        if (records.Count != n * eps.Length * attacks.Count)
            throw new ArgumentException($"{records.Count} records for {n} examples x {eps.Length} eps x {attacks.Count} attacks", nameof(records));
        var first = records.Where(r => r.Stage == 0 && r.Eps == eps[0]).ToList();
        double clean = first.Count(r => r.CleanPrediction == r.Label) / (double)n;
        var gradientFree = attacks.Select(a => a.GradientFree).ToList();
        var perEps = new List<EpsResult>();
        var position = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        foreach (double e in eps)
        {
            var atEps = records.Where(r => r.Eps == e).ToList();
            var stages = new List<AttackStage>();
            for (int s = 0; s < attacks.Count; s++)
            {
                var rows = atEps.Where(r => r.Stage == s).ToList();
                stages.Add(new AttackStage(attacks[s].Name, rows.Count(r => !r.Success) / (double)n, rows.Count(r => r.Attacked && r.Success), rows.Count(r => r.Attacked),
                    TimeSpan.FromSeconds(rows.Sum(r => r.Seconds))));
            }
            var robust = new bool[n];
            foreach (var r in atEps.Where(r => r.Stage == attacks.Count - 1)) robust[position[r.ExampleId]] = !r.Success;
            long robustCount = robust.Count(r => r);
            var flag = SanityChecks.GradientFreeWins(stages, gradientFree, n);
            perEps.Add(new EpsResult(e, stages, robustCount / (double)n, robustCount, [flag]) { RobustPerExample = robust });
        }
        var flags = ModelFlags(first, norm);
        flags.Add(SanityChecks.AccuracyFallsWithEps(perEps.Select(p => (p.Eps, p.Robust)).ToList(), n));
        return new RobustnessResult
        {
            Model = model, Norm = norm, Examples = n, CleanAccuracy = clean, PerEps = perEps, Flags = flags,
            Attacks = attacks.Select(a => (a.Name, a.Budget)).ToList(), Seed = seed, Elapsed = elapsed, Records = records,
        };
    }

    /// <summary>The model's flags from the probes of the sanity sample (one row per example).</summary>
    static List<SanityFlag> ModelFlags(IReadOnlyList<RobustnessRecord> oneRowPerExample, Norm norm)
    {
        var probed = oneRowPerExample.Where(r => r.ProbeOutputMin is not null).ToList();
        var flags = new List<SanityFlag>();
        if (probed.Count == 0)
        {
            flags.Add(new SanityFlag("probabilities", false, "not checked (no example in the sanity sample)"));
            return flags;
        }
        flags.Add(SanityChecks.ProbabilitiesFlag(probed.Min(r => r.ProbeOutputMin!.Value), probed.Max(r => r.ProbeOutputMax!.Value), probed.Max(r => r.ProbeSumError!.Value)));
        flags.Add(SanityChecks.ZeroGradientsFlag(probed.Count(r => r.ProbeZeroGradient == true), probed.Count));
        flags.Add(SanityChecks.RandomnessFlag(probed.Max(r => r.ProbeOutputChange!.Value), probed.Any(r => r.ProbePredictionChanged == true)));
        var unbounded = probed.Where(r => r.UnboundedFooled is not null).ToList();
        if (unbounded.Count > 0) flags.Add(SanityChecks.UnboundedFlag(unbounded.Count(r => r.UnboundedFooled == true), unbounded.Count, norm));
        return flags;
    }
}
