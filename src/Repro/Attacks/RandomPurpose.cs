using Repro.Explain;

namespace Repro.Attacks;

/// <summary>
/// The one registry of what Repro's random numbers are for. Every random number an attack or an
/// attribution draws comes from a counter-based stream (<see cref="CounterNoise"/>) keyed by
/// (seed, purpose, instance, example id) through <see cref="RandomStreams"/>; two uses never share
/// a stream because they never share a purpose, and within a purpose the instance (a restart, a
/// target rank) tells the runs apart. A new use of randomness gets a new member here, never a
/// number written at the call site. The numbers are part of every result's identity: changing one
/// changes every result that used it.
/// </summary>
public enum RandomPurpose : long
{
    /// <summary>PGD's random start; instance: the restart.</summary>
    PgdStart = 1,
    /// <summary>APGD's random start (APGD-CE, APGD-DLR, the margin loss); instance: the restart.</summary>
    ApgdStart = 2,
    /// <summary>
    /// SmoothGrad's noisy copies; no instance; copy k of an example is sub-stream k. Number 3 with no
    /// instance is the key SmoothGrad always had (Key(seed, 3, id)), so its maps and the approved
    /// snapshots are unchanged; it no longer meets PGD's restart 2, whose key now carries the restart.
    /// </summary>
    SmoothGradNoise = 3,
    /// <summary>Square's initial perturbation (stripes or the L2 grid); no instance.</summary>
    SquareStart = 4,
    /// <summary>Square's proposals; no instance; query q is sub-stream q (<see cref="CounterNoise.Derive"/>).</summary>
    SquareQuery = 5,
    /// <summary>APGD-T's random start; instance: the target's rank k (0 = the class with the highest other logit), then the restart.</summary>
    ApgdTargetedStart = 6,
    /// <summary>Feature visualisation's PGD random start; instance: the restart.</summary>
    FeatureVisualisationStart = 7,
    /// <summary>FAB's random restarts (Croce and Hein 2020); instance: the target's rank (0 when untargeted), then the restart.</summary>
    FabStart = 8,
}

/// <summary>The keys of <see cref="RandomPurpose"/>'s streams: the only place a purpose becomes a number.</summary>
public static class RandomStreams
{
    /// <summary>
    /// The stream key of example <paramref name="exampleId"/> for <paramref name="purpose"/>:
    /// <see cref="CounterNoise.Key"/>(seed, purpose, instance..., id). Sub-streams of a key (query q,
    /// copy k) come from <see cref="CounterNoise.Derive"/>.
    /// </summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="purpose">What the numbers are for.</param>
    /// <param name="exampleId">The example's id (<see cref="ExampleIds"/>).</param>
    /// <param name="instance">The purpose's instance numbers (restart, target rank), as its member's doc says; empty where it has none.</param>
    public static long Key(long seed, RandomPurpose purpose, long exampleId, params long[] instance)
    {
        var parts = new long[instance.Length + 2];
        parts[0] = (long)purpose;
        instance.CopyTo(parts, 1);
        parts[^1] = exampleId;
        return CounterNoise.Key(seed, parts);
    }

    /// <summary>The keys of several examples (one per id) for one purpose and instance.</summary>
    public static long[] Keys(long seed, RandomPurpose purpose, IReadOnlyList<long> exampleIds, params long[] instance) =>
        exampleIds.Select(id => Key(seed, purpose, id, instance)).ToArray();
}
