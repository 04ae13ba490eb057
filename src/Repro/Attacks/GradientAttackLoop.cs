using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// What the first-order loop needs to know besides the step rule and the call's <see cref="AttackRun"/>
/// (seed, example ids, progress and precision live there alone): PGD and APGD fill it from their options.
/// </summary>
public sealed record LoopSettings
{
    /// <summary>Gradient steps per run: each costs one forward and one input-backward pass; one more forward pass measures the last iterate.</summary>
    public required int Steps { get; init; }
    /// <summary>Independent runs (>= 1), merged per example success first, then by loss; default 1.</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>Start each run from a uniformly random point of the ball instead of the image itself.</summary>
    public bool RandomStart { get; init; }
    /// <summary>What the random starts are for (<see cref="RandomPurpose"/>; keyed with the run's seed and example ids): distinguishes the streams of different attacks for the same seed and example.</summary>
    public RandomPurpose Purpose { get; init; } = RandomPurpose.PgdStart;
    /// <summary>The purpose's instance numbers before the restart (APGD-T's target rank); empty for most.</summary>
    public IReadOnlyList<long> PurposeInstance { get; init; } = [];
    /// <summary>Legacy: one CPU generator for the whole batch instead of per-example noise (<see cref="GeneratorNoise"/>).</summary>
    public bool BatchGeneratorNoise { get; init; }
    /// <summary>Which iterate a run returns per example (<see cref="IterateChoice"/>); default: the latest, success first.</summary>
    public IterateChoice Choice { get; init; } = IterateChoice.Latest;
    /// <summary>Drop an example from the run once an iterate succeeds (its successful iterate is kept), and start restarts only on examples not yet successful.</summary>
    public bool StopOnSuccess { get; init; }
}

/// <summary>
/// The loop every first-order attack shares. Per run: a start (the image, or a random point of
/// the ball from per-example noise keyed by <see cref="AttackRun.Seed"/> and the example's id), then <see cref="LoopSettings.Steps"/> iterations of one
/// forward + input-backward pass, success-first bookkeeping (<see cref="IterateBook"/>) and the
/// step rule's proposal, then a forward pass at the last iterate. Restarts run on every example,
/// or with <see cref="LoopSettings.StopOnSuccess"/> only on those not yet fooled; the runs are
/// merged success first, then by loss. Parameters are frozen for the attack (input gradients only).
/// Every example is attacked independently of the others. With a low <see cref="AttackRun.Precision"/>
/// the search runs the objective's modules in that precision and the result is confirmed by one
/// float32 forward pass (<see cref="LowPrecision.Confirm"/>): every returned loss, logit, success and
/// norm is a float32 figure.
/// </summary>
public static class GradientAttackLoop
{
    /// <summary>Attacks <paramref name="images"/> within <paramref name="threat"/>, following <paramref name="objective"/>'s direction.</summary>
    /// <param name="objective">What to optimise; its modules' parameters are frozen meanwhile.</param>
    /// <param name="images">Clean images [N,...] in [0,1] ([N,C,H,W], or flattened [N,D] for a linear model).</param>
    /// <param name="threat">The set to stay within (eps in [0,1] pixel units).</param>
    /// <param name="run">This call's seed, example ids, progress callback (steps done, steps in all, restarts included) and precision.</param>
    /// <param name="settings">Steps, restarts, random start, noise purpose and iterate choice.</param>
    /// <param name="newRule">Makes a fresh step rule for each run.</param>
    /// <returns>The chosen iterate per example with its loss, success and perturbation norms.</returns>
    /// <exception cref="ReproInputException">Steps or restarts below 1, example ids that do not match the batch, or a threat model the step rule refuses.</exception>
    public static AttackResult Run(AttackObjective objective, Tensor images, ThreatModel threat, AttackRun run, LoopSettings settings, Func<IStepRule> newRule)
    {
        Inputs(objective, threat, images, rank: 2);
        Guard.Run(run, images.shape[0]);
        Guard.NotNull(settings);
        Guard.NotNull(newRule);
        if (settings.Steps < 1) throw new ReproInputException($"steps must be >= 1, got {settings.Steps}");
        if (settings.Restarts < 1) throw new ReproInputException($"restarts must be >= 1, got {settings.Restarts}");
        if (run.Precision == AttackPrecision.Float32) return Search(objective, threat, images, run, settings, newRule);
        AttackResult searched;
        using (LowPrecision.Enter(objective.Modules, run.Precision))
            searched = Search(objective, threat, images, run, settings, newRule);
        return LowPrecision.Confirm(objective, threat, images.detach(), searched);
    }

    static AttackResult Search(AttackObjective objective, ThreatModel threat, Tensor images, AttackRun run, LoopSettings settings, Func<IStepRule> newRule)
    {
        using var frozen = new FrozenParameters(objective.Modules);
        var original = images.detach();
        long n = original.shape[0];
        // Dropping examples needs an objective that can be split; one that cannot runs every example to the end.
        bool stop = settings.StopOnSuccess && settings.Choice != IterateChoice.Final && CanSubset(objective);
        long[]? ids = settings.RandomStart && !settings.BatchGeneratorNoise ? ExampleIds.Resolve(original, run.ExampleIds) : null;
        using var generator = settings.RandomStart && settings.BatchGeneratorNoise ? new Generator((ulong)run.Seed) : null;
        long done = 0, total = (long)settings.Steps * settings.Restarts;
        void Advance(long steps)
        {
            done += steps;
            run.Progress?.Invoke(done, total);
        }

        if (settings.Restarts == 1)
        {
            using var book = new IterateBook(objective, threat, original, settings.Choice);
            using var rule = newRule();
            RunOnce(objective, threat, original, Noise(0, null), settings, stop, rule, book, Advance);
            return book.TakeResult();
        }

        // Across restarts "latest" means nothing: runs are merged success first, then by loss.
        var across = settings.Choice == IterateChoice.Latest ? IterateChoice.BestLoss : settings.Choice;
        using var merged = new IterateBook(objective, threat, original, across);
        for (int restart = 0; restart < settings.Restarts; restart++)
        {
            using var scope = NewDisposeScope();
            Tensor? rows = null;
            if (stop && merged.Success is not null)
            {
                rows = nonzero(merged.Success.logical_not()).flatten();
                if (rows.shape[0] == 0)
                {
                    Advance((long)settings.Steps * (settings.Restarts - restart));
                    break;
                }
                if (rows.shape[0] == n) rows = null;
            }
            var runOriginal = rows is null ? original : original.index_select(0, rows);
            var runObjective = rows is null ? objective : objective.Subset(rows)!;
            using var book = new IterateBook(runObjective, threat, runOriginal, settings.Choice);
            using var rule = newRule();
            RunOnce(runObjective, threat, runOriginal, Noise(restart, rows), settings, stop, rule, book, Advance);
            merged.Merge(rows, book);
        }
        return merged.TakeResult();

        NoiseSource? Noise(int restart, Tensor? rows)
        {
            if (!settings.RandomStart) return null;
            if (generator is not null) return new GeneratorNoise(generator);
            var noise = ExampleNoise.For(run.Seed, ids!, settings.Purpose, [.. settings.PurposeInstance, restart]);
            return rows is null ? noise : noise.Select(rows.data<long>().ToArray());
        }
    }

    /// <summary>
    /// The checks every attack makes before it runs: no null, images [N,C,H,W] in [0,1], and the
    /// objective's labels or targets one per image (their range is checked on the first logits).
    /// </summary>
    internal static void Inputs(AttackObjective objective, ThreatModel threat, Tensor images, int rank = 4)
    {
        Guard.NotNull(objective);
        Guard.NotNull(threat);
        Guard.Inputs(images, rank, nameof(images));
        if (objective.Classes is { } classes && classes.shape[0] != images.shape[0])
            throw new ReproArgumentException("labels", $"{classes.shape[0]} labels for a batch of {images.shape[0]} images");
    }

    static bool CanSubset(AttackObjective objective)
    {
        using var scope = NewDisposeScope();
        return objective.Subset(zeros(0, dtype: ScalarType.Int64)) is not null;
    }

    /// <summary>One run from one start over the rows of <paramref name="original"/>; offers every evaluated iterate to <paramref name="book"/>.</summary>
    static void RunOnce(AttackObjective objective, ThreatModel threat, Tensor original, NoiseSource? noise, LoopSettings settings,
        bool stopOnSuccess, IStepRule rule, IterateBook book, Action<long> advance)
    {
        using var runScope = NewDisposeScope();
        Tensor x;
        using (no_grad()) x = noise is not null ? threat.RandomStart(original, noise) : original.clone();
        Tensor? active = null; // rows of this run still attacked; null: all of them
        var activeObjective = objective;
        double sign = objective.Direction == Direction.Ascend ? 1.0 : -1.0;
        rule.Begin(original, x, threat);

        for (int step = 0; step < settings.Steps; step++)
        {
            Tensor previous = x;
            Tensor? keep = null;
            bool finished = false;
            using (var stepScope = NewDisposeScope())
            {
                var input = x.detach().requires_grad_(true);
                var value = activeObjective.Evaluate(input);
                var score = sign > 0 ? value.PerExampleLoss : value.PerExampleLoss.neg();
                var gradient = InputGradient.Of(score.sum(), input);
                using (no_grad())
                {
                    var success = activeObjective.Succeeded(value);
                    book.Offer(active, x, value.PerExampleLoss, value.Logits, success);
                    if (stopOnSuccess)
                    {
                        var remaining = nonzero(success.logical_not()).flatten();
                        if (remaining.shape[0] == 0) finished = true;
                        else if (remaining.shape[0] < success.shape[0])
                        {
                            keep = remaining;
                            stepScope.MoveToOuter(keep);
                            x = x.index_select(0, keep);
                            gradient = gradient.index_select(0, keep);
                            score = score.index_select(0, keep);
                            rule.Keep(keep);
                        }
                    }
                    if (!finished)
                    {
                        x = rule.Next(step, x, gradient, score.detach());
                        stepScope.MoveToOuter(x);
                    }
                }
            }
            // The iterate of the last step is no longer needed: free it now, not when the run ends.
            previous.Dispose();
            if (finished)
            {
                advance(settings.Steps - step);
                return;
            }
            if (keep is not null)
            {
                active = active is null ? keep : active.index_select(0, keep);
                activeObjective = objective.Subset(active)!;
            }
            advance(1);
        }

        using (no_grad())
        {
            var value = activeObjective.Evaluate(x);
            book.Offer(active, x, value.PerExampleLoss, value.Logits, activeObjective.Succeeded(value));
        }
        x.Dispose();
    }
}
