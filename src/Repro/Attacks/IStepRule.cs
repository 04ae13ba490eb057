using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The optimiser seam of the first-order attack loop (<see cref="GradientAttackLoop"/>): given the
/// current iterate and its gradient, propose the next one. PGD's rule is a fixed step
/// (<see cref="FixedStep"/>); APGD's a step-size schedule with momentum, checkpoints and restarts
/// from the best point (<see cref="ApgdStep"/>). The loop owns everything else: random starts,
/// evaluation, success-first bookkeeping, dropping finished examples, restarts and progress.
/// A rule keeps whatever per-example state it needs outside dispose scopes and frees it on Dispose.
/// </summary>
public interface IStepRule : IDisposable
{
    /// <summary>Starts a run on images <paramref name="original"/> [N,...] from <paramref name="start"/> [N,...] in <paramref name="threat"/>.</summary>
    void Begin(Tensor original, Tensor start, ThreatModel threat);

    /// <summary>Examples left the run: keep only rows <paramref name="keep"/> (int64 indices into the current rows) of the per-example state.</summary>
    void Keep(Tensor keep);

    /// <summary>
    /// Iterate t + 1 from iterate <paramref name="t"/>: <paramref name="x"/> [N,...], the gradient
    /// of the ascent score at x (the objective's loss, negated for objectives that descend; the
    /// rule may overwrite it) and the score [N] itself. Returns a new tensor that the loop owns.
    /// </summary>
    Tensor Next(int t, Tensor x, Tensor gradient, Tensor score);
}

/// <summary>PGD's step rule: a fixed step of <paramref name="stepSize"/> along the threat model's steepest-ascent direction, then the projection.</summary>
public sealed class FixedStep(double stepSize) : IStepRule
{
    Tensor? original;
    ThreatModel? threat;
    bool ownsOriginal;

    /// <inheritdoc/>
    public void Begin(Tensor original, Tensor start, ThreatModel threat)
    {
        this.original = original;
        this.threat = threat;
    }

    /// <inheritdoc/>
    public void Keep(Tensor keep)
    {
        var kept = original!.index_select(0, keep).DetachFromDisposeScope();
        if (ownsOriginal) original!.Dispose();
        original = kept;
        ownsOriginal = true;
    }

    /// <summary>The threat model's step of <c>stepSize</c> along its steepest-ascent direction from <paramref name="x"/>, projected onto the ball around the original; <paramref name="t"/> and <paramref name="score"/> are unused.</summary>
    /// <param name="t">The step index (unused).</param>
    /// <param name="x">The current iterate [N,...].</param>
    /// <param name="gradient">The ascent score's gradient at x; may be overwritten.</param>
    /// <param name="score">The ascent score [N] (unused).</param>
    public Tensor Next(int t, Tensor x, Tensor gradient, Tensor score) => threat!.StepAndProject(original!, x, gradient, stepSize);

    /// <summary>Frees the copy of the original's rows that <see cref="Keep"/> made, if any.</summary>
    public void Dispose()
    {
        if (ownsOriginal) original?.Dispose();
    }
}
