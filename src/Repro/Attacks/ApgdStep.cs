using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// APGD's step rule (Croce and Hein, ICML 2020, Algorithm 1), per example:
/// z = P(x_k + η·d(∇)), x_{k+1} = P(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})) with α = 1 on the
/// first step (d: the threat model's steepest-ascent direction, P: its projection). At each
/// checkpoint w_j (<see cref="ApgdOptions.Checkpoints"/>) the step η is halved and the iterate
/// restarts from the best point seen (with its gradient) where (1) at most ρ of the steps since the
/// last checkpoint raised the loss, or (2) the step was not halved at the last checkpoint and the
/// best loss has not improved since. Written from the paper and checked against the reference
/// implementation (fra31/auto-attack, autopgd_base.py) for the published defaults.
/// </summary>
internal sealed class ApgdStep(ApgdOptions options, int iterations) : IStepRule
{
    readonly HashSet<int> checkpoints = [.. ApgdOptions.Checkpoints(iterations)];
    int lastCheckpoint;
    ThreatModel? threat;
    Tensor? original, eta, previous, best, bestGradient, bestScore, lastScore, increases, bestAtCheckpoint, halvedAtCheckpoint;

    public void Begin(Tensor original, Tensor start, ThreatModel threat)
    {
        if (double.IsInfinity(threat.Eps)) throw new ReproInputException($"APGD needs a bounded threat model (its step is a multiple of eps), got {threat}");
        this.threat = threat;
        this.original = original.alias().DetachFromDisposeScope();
        eta = full(ThreatModel.BroadcastShape(original), options.InitialStep * threat.Eps, dtype: original.dtype, device: original.device).DetachFromDisposeScope();
        lastCheckpoint = 0;
    }

    public void Keep(Tensor keep)
    {
        Tensor? Rows(Tensor? t)
        {
            if (t is null) return null;
            var kept = t.index_select(0, keep).DetachFromDisposeScope();
            t.Dispose();
            return kept;
        }
        original = Rows(original); eta = Rows(eta); previous = Rows(previous); best = Rows(best); bestGradient = Rows(bestGradient);
        bestScore = Rows(bestScore); lastScore = Rows(lastScore); increases = Rows(increases);
        bestAtCheckpoint = Rows(bestAtCheckpoint); halvedAtCheckpoint = Rows(halvedAtCheckpoint);
    }

    public Tensor Next(int t, Tensor x, Tensor gradient, Tensor score)
    {
        using var scope = NewDisposeScope();
        if (t == 0)
        {
            Swap(ref best, x.clone());
            Swap(ref bestGradient, gradient.clone());
            Swap(ref bestScore, score.clone());
            Swap(ref bestAtCheckpoint, score.clone());
            Swap(ref increases, zeros_like(score));
            // Before the first checkpoint condition (2) cannot hold: count the step as "halved".
            Swap(ref halvedAtCheckpoint, ones_like(score, dtype: ScalarType.Bool));
        }
        else
        {
            var improved = score.gt(bestScore!);
            var mask = improved.reshape(ThreatModel.BroadcastShape(x));
            Swap(ref best, where(mask, x, best!));
            Swap(ref bestGradient, where(mask, gradient, bestGradient!));
            Swap(ref bestScore, where(improved, score, bestScore!));
            increases!.add_(score.gt(lastScore!));
            if (checkpoints.Contains(t))
            {
                int since = t - lastCheckpoint;
                lastCheckpoint = t;
                var oscillating = increases.le(options.Rho * since);
                var stalled = halvedAtCheckpoint!.logical_not().logical_and(bestAtCheckpoint!.ge(bestScore!));
                var halve = oscillating.logical_or(stalled);
                Swap(ref halvedAtCheckpoint, halve.clone());
                Swap(ref bestAtCheckpoint, bestScore!.clone());
                increases.zero_();
                var halveMask = halve.reshape(ThreatModel.BroadcastShape(x));
                eta!.copy_(where(halveMask, eta * 0.5, eta));
                x = where(halveMask, best!, x);
                gradient = where(halveMask, bestGradient!, gradient);
            }
        }
        Swap(ref lastScore, score.clone());

        // z = P(x + η·d(∇)); then the momentum combination, projected again.
        var z = threat!.Project(original!, threat.Direction(gradient).mul_(eta!).add_(x));
        Tensor next;
        if (t == 0) next = z;
        else
        {
            double alpha = options.Momentum;
            // x + α(z − x) + (1 − α)(x − x_prev) = α·z + 2(1 − α)·x − (1 − α)·x_prev
            next = threat.Project(original!, z.mul_(alpha).add_(x, alpha: 2 * (1 - alpha)).add_(previous!, alpha: alpha - 1));
        }
        if (previous is null || !previous.shape.SequenceEqual(x.shape)) Swap(ref previous, x.clone());
        else previous.copy_(x);
        return next.MoveToOuterDisposeScope();
    }

    static void Swap(ref Tensor? field, Tensor value)
    {
        var kept = value.DetachFromDisposeScope();
        field?.Dispose();
        field = kept;
    }

    public void Dispose()
    {
        foreach (var t in new[] { original, eta, previous, best, bestGradient, bestScore, lastScore, increases, bestAtCheckpoint, halvedAtCheckpoint }) t?.Dispose();
    }
}
