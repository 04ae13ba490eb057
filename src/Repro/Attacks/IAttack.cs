using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// One call shape for every attack at every eps (Foolbox's lesson): an untargeted attack on a
/// classifier that returns logits, given [N,C,H,W] images in [0,1], int64 labels [N] and a threat
/// model, returning the common <see cref="AttackResult"/> (Success = the prediction at the returned
/// image is not the label). Robust-accuracy evaluation (<c>Evaluation/RobustAccuracy</c>) runs any
/// list of them. The algorithms' own entry points have the same shape: who is attacked (an
/// <see cref="AttackObjective"/>, targeted or not, for <see cref="Pgd.Run"/>, <see cref="Apgd.Run"/> and
/// <see cref="Square.Run"/>; the model and labels for APGD-T and FAB), then the images, the threat
/// model, the call's <see cref="AttackRun"/> and last the attack's settings (null: its defaults).
/// </summary>
public interface IAttack
{
    /// <summary>The attack's name as the command line takes it: pgd, apgd-ce, apgd-dlr, apgd-margin, apgd-t, fab, fab-t, square.</summary>
    string Name { get; }
    /// <summary>Its budget in words ("100 iterations, 1 restart"), for tables and reports.</summary>
    string Budget { get; }
    /// <summary>Score-based (needs no gradient): run after the gradient attacks, and compared with them by the sanity flags.</summary>
    bool GradientFree { get; }
    /// <summary>The fewest classes the attack's loss is defined for (DLR: 3, targeted DLR: 4).</summary>
    int MinimumClasses { get; }

    /// <summary>Attacks the batch untargeted within <paramref name="threat"/>; Success per example = the prediction at the returned image is not the label.</summary>
    /// <param name="model">The classifier: images [N,C,H,W] in [0,1] to logits [N,classes] (normalisation inside the model).</param>
    /// <param name="images">Clean images [N,C,H,W], float, in [0,1].</param>
    /// <param name="labels">True labels [N], int64.</param>
    /// <param name="threat">The set to stay within, e.g. <see cref="L2Ball"/> or <see cref="LinfBall"/> (eps in [0,1] pixel units).</param>
    /// <param name="run">Seed, example ids and progress callback of this call.</param>
    /// <returns>Adversarial images [N,C,H,W] with per-example loss, success and L2 / L-inf perturbation norms.</returns>
    /// <exception cref="ReproInputException">Invalid options or example ids, too few classes for the loss (<see cref="MinimumClasses"/>), or a threat model the attack does not support.</exception>
    AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run);
}

/// <summary>
/// What varies per call, and the one place it lives: the seed, the examples' ids (they key every
/// random number; null: the hash of each image), a progress callback and the search's precision.
/// Every attack takes it (<see cref="IAttack.Run"/>, <see cref="Pgd.Run"/>, <see cref="Apgd.Run"/>,
/// <see cref="Square.Run"/>, <see cref="Fab.Run"/>); the attacks' options hold only what is the same for every call.
/// </summary>
/// <param name="Seed">Seed of the attack's random numbers (with the example ids).</param>
/// <param name="ExampleIds">One id per example of the batch; null: the hash of each image's pixels.</param>
/// <param name="Progress">Called with (work done, work in all) as the attack runs; null: no reports.</param>
/// <param name="Precision">The precision the model runs in during the search; the result is confirmed in float32 (<see cref="AttackPrecision"/>).</param>
public sealed record AttackRun(long Seed, IReadOnlyList<long>? ExampleIds = null, Action<long, long>? Progress = null, AttackPrecision Precision = AttackPrecision.Float32);

/// <summary>PGD on the cross-entropy, from the image, with a step relative to eps; success first. Default: the article's 20 steps of 0.5 at eps 1.25 (0.4·eps).</summary>
/// <param name="steps">PGD steps (one forward and one input-backward pass each).</param>
/// <param name="relativeStep">Step size as a fraction of the threat model's eps.</param>
public sealed class PgdAttack(int steps = 20, double relativeStep = 0.4) : IAttack
{
    /// <inheritdoc/>
    public string Name => "pgd";
    /// <inheritdoc/>
    public string Budget => $"{steps} steps of {relativeStep:G3}·eps, cross-entropy";
    /// <inheritdoc/>
    public bool GradientFree => false;
    /// <inheritdoc/>
    public int MinimumClasses => 2;

    /// <inheritdoc/>
    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), Guard.Images(images), Guard.NotNull(threat), run,
            new PgdOptions { Steps = steps, StepSize = relativeStep * threat.Eps, StopOnSuccess = true });
}

/// <summary>The losses APGD ascends untargeted.</summary>
public enum ApgdLoss
{
    /// <summary>Cross-entropy of the logits against the label (apgd-ce).</summary>
    CrossEntropy,
    /// <summary>Difference of logits ratio (Croce and Hein 2020; <see cref="DlrObjective"/>, apgd-dlr): needs >= 3 classes.</summary>
    Dlr,
    /// <summary>Logit margin max_{j≠y} z_j − z_y (Carlini and Wagner 2017; <see cref="MarginObjective"/>, apgd-margin): any number of classes.</summary>
    Margin,
}

/// <summary>APGD (<see cref="Apgd"/>) on cross-entropy, DLR (>= 3 classes) or the logit margin (any classifier; the DLR stand-in for two classes).</summary>
/// <param name="loss">The loss to ascend.</param>
/// <param name="options">APGD settings; null: the published defaults (<see cref="ApgdOptions"/>). Seed, example ids and progress come from each call.</param>
public sealed class ApgdAttack(ApgdLoss loss, ApgdOptions? options = null) : IAttack
{
    readonly ApgdOptions options = options ?? new ApgdOptions();

    /// <inheritdoc/>
    public string Name => loss switch { ApgdLoss.CrossEntropy => "apgd-ce", ApgdLoss.Dlr => "apgd-dlr", _ => "apgd-margin" };
    /// <inheritdoc/>
    public string Budget => $"{options.Iterations} iterations, {options.Restarts} restart{(options.Restarts == 1 ? "" : "s")}";
    /// <inheritdoc/>
    public bool GradientFree => false;
    /// <inheritdoc/>
    public int MinimumClasses => loss == ApgdLoss.Dlr ? DlrObjective.MinimumClasses : 2;

    /// <inheritdoc/>
    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run)
    {
        Guard.Images(images);
        AttackObjective objective = loss switch
        {
            ApgdLoss.CrossEntropy => CrossEntropyObjective.Untargeted(model, labels),
            ApgdLoss.Dlr => new DlrObjective(model, labels),
            _ => new MarginObjective(model, labels),
        };
        return Apgd.Run(objective, images, threat, run, options);
    }
}

/// <summary>APGD-T (<see cref="Apgd.RunTargeted"/>): targeted DLR toward the top other classes in turn (>= 4 classes).</summary>
/// <param name="options">APGD settings; null: the published defaults (<see cref="ApgdOptions"/>). Seed, example ids and progress come from each call.</param>
public sealed class ApgdTargetedAttack(ApgdOptions? options = null) : IAttack
{
    readonly ApgdOptions options = options ?? new ApgdOptions();

    /// <inheritdoc/>
    public string Name => "apgd-t";
    /// <inheritdoc/>
    public string Budget => $"up to {options.TargetClasses} target classes × {options.Iterations} iterations";
    /// <inheritdoc/>
    public bool GradientFree => false;
    /// <inheritdoc/>
    public int MinimumClasses => TargetedDlrObjective.MinimumClasses;

    /// <inheritdoc/>
    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Apgd.RunTargeted(model, images, labels, threat, run, options);
}

/// <summary>The Square attack (<see cref="Square"/>) on the logit margin.</summary>
/// <param name="options">Square settings; null: the defaults (<see cref="SquareOptions"/>). Seed, example ids and progress come from each call.</param>
public sealed class SquareAttack(SquareOptions? options = null) : IAttack
{
    readonly SquareOptions options = options ?? new SquareOptions();

    /// <inheritdoc/>
    public string Name => "square";
    /// <inheritdoc/>
    public string Budget => $"{options.Queries} queries, p_init {options.PInit:G3}";
    /// <inheritdoc/>
    public bool GradientFree => true;
    /// <inheritdoc/>
    public int MinimumClasses => 2;

    /// <inheritdoc/>
    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Square.Run(new MarginObjective(model, labels), images, threat, run, options);
}
