using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Projected gradient descent (Madry et al. 2018) over any threat model and any objective: the
/// shared first-order loop (<see cref="GradientAttackLoop"/>) with a fixed step
/// (<see cref="FixedStep"/>). Each step costs one forward and one backward pass with respect to
/// the input only (the objective's parameters are frozen); one more forward pass per restart
/// measures the final iterate, and the result reuses the evaluations (loss, logits, success)
/// instead of measuring again. The returned iterate is chosen success first
/// (<see cref="PgdOptions.Choice"/>). Inputs are images in [0,1]; the model's normalisation is
/// inside the model. The device is the inputs' device. Every example of a batch is attacked
/// independently, random starts included (per-example noise keyed by seed and example id).
/// </summary>
public static class Pgd
{
    /// <summary>Runs PGD on <paramref name="objective"/> from <paramref name="images"/> within <paramref name="threat"/>.</summary>
    /// <param name="objective">What to optimise: untargeted or targeted (e.g. <see cref="CrossEntropyObjective.Untargeted"/>, <see cref="CrossEntropyObjective.Targeted"/>) or any feature; its modules are frozen meanwhile.</param>
    /// <param name="images">Clean images [N,C,H,W] (or flattened [N,D] for a linear model) in [0,1].</param>
    /// <param name="threat">The set to stay within (<see cref="L2Ball"/>, <see cref="LinfBall"/> or <see cref="Unconstrained"/>; eps in [0,1] pixel units).</param>
    /// <param name="run">This call's seed, example ids, progress callback (steps done, steps in all, restarts included) and precision.</param>
    /// <param name="options">Step size, steps, restarts, random start and iterate choice; null: the defaults (<see cref="PgdOptions"/>).</param>
    /// <returns>The chosen iterate per example with its loss, success and perturbation norms.</returns>
    /// <exception cref="ArgumentNullException">The objective, images, threat model or run is null.</exception>
    /// <exception cref="ReproInputException">Invalid options, or example ids that do not match the batch.</exception>
    public static AttackResult Run(AttackObjective objective, Tensor images, ThreatModel threat, AttackRun run, PgdOptions? options = null)
    {
        options ??= new PgdOptions();
        options.Validate();
        return GradientAttackLoop.Run(objective, images, threat, run, options.Loop(), () => new FixedStep(options.StepSize));
    }
}
