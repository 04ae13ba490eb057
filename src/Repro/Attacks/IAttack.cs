using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// One call shape for every attack at every eps (Foolbox's lesson): an untargeted attack on a
/// classifier that returns logits, given [N,C,H,W] images in [0,1], int64 labels [N] and a threat
/// model, returning the common <see cref="AttackResult"/> (Success = the prediction at the returned
/// image is not the label). Robust-accuracy evaluation (<c>Evaluation/RobustAccuracy</c>) runs any
/// list of them.
/// </summary>
public interface IAttack
{
    /// <summary>The attack's name as the command line takes it: pgd, apgd-ce, apgd-dlr, apgd-margin, apgd-t, square.</summary>
    string Name { get; }
    /// <summary>Its budget in words ("100 iterations, 1 restart"), for tables and reports.</summary>
    string Budget { get; }
    /// <summary>Score-based (needs no gradient): run after the gradient attacks, and compared with them by the sanity flags.</summary>
    bool GradientFree { get; }
    /// <summary>The fewest classes the attack's loss is defined for (DLR: 3, targeted DLR: 4).</summary>
    int MinimumClasses { get; }

    AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run);
}

/// <summary>What varies per call: the seed, the examples' ids (they key every random number; null: the hash of each image) and a progress callback.</summary>
public sealed record AttackRun(long Seed, IReadOnlyList<long>? ExampleIds = null, Action<long, long>? Progress = null);

/// <summary>PGD on the cross-entropy, from the image, with a step relative to eps; success first. Default: the article's 20 steps of 0.5 at eps 1.25 (0.4·eps).</summary>
public sealed class PgdAttack(int steps = 20, double relativeStep = 0.4) : IAttack
{
    public string Name => "pgd";
    public string Budget => $"{steps} steps of {relativeStep:G3}·eps, cross-entropy";
    public bool GradientFree => false;
    public int MinimumClasses => 2;

    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Pgd.Run(CrossEntropyObjective.Untargeted(model, labels), threat, images,
            new PgdOptions { Steps = steps, StepSize = relativeStep * threat.Eps, Seed = run.Seed, ExampleIds = run.ExampleIds, StopOnSuccess = true, Progress = run.Progress });
}

/// <summary>The losses APGD ascends untargeted.</summary>
public enum ApgdLoss { CrossEntropy, Dlr, Margin }

/// <summary>APGD (<see cref="Apgd"/>) on cross-entropy, DLR (>= 3 classes) or the logit margin (any classifier; the DLR stand-in for two classes).</summary>
public sealed class ApgdAttack(ApgdLoss loss, ApgdOptions? options = null) : IAttack
{
    readonly ApgdOptions options = options ?? new ApgdOptions();

    public string Name => loss switch { ApgdLoss.CrossEntropy => "apgd-ce", ApgdLoss.Dlr => "apgd-dlr", _ => "apgd-margin" };
    public string Budget => $"{options.Iterations} iterations, {options.Restarts} restart{(options.Restarts == 1 ? "" : "s")}";
    public bool GradientFree => false;
    public int MinimumClasses => loss == ApgdLoss.Dlr ? DlrObjective.MinimumClasses : 2;

    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run)
    {
        AttackObjective objective = loss switch
        {
            ApgdLoss.CrossEntropy => CrossEntropyObjective.Untargeted(model, labels),
            ApgdLoss.Dlr => new DlrObjective(model, labels),
            _ => new MarginObjective(model, labels),
        };
        return Apgd.Run(objective, threat, images, options with { Seed = run.Seed, ExampleIds = run.ExampleIds, Progress = run.Progress });
    }
}

/// <summary>APGD-T (<see cref="Apgd.RunTargeted"/>): targeted DLR toward the top other classes in turn (>= 4 classes).</summary>
public sealed class ApgdTargetedAttack(ApgdOptions? options = null) : IAttack
{
    readonly ApgdOptions options = options ?? new ApgdOptions();

    public string Name => "apgd-t";
    public string Budget => $"up to {options.TargetClasses} target classes × {options.Iterations} iterations";
    public bool GradientFree => false;
    public int MinimumClasses => TargetedDlrObjective.MinimumClasses;

    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Apgd.RunTargeted(model, images, labels, threat, options with { Seed = run.Seed, ExampleIds = run.ExampleIds, Progress = run.Progress });
}

/// <summary>The Square attack (<see cref="Square"/>) on the logit margin.</summary>
public sealed class SquareAttack(SquareOptions? options = null) : IAttack
{
    readonly SquareOptions options = options ?? new SquareOptions();

    public string Name => "square";
    public string Budget => $"{options.Queries} queries, p_init {options.PInit:G3}";
    public bool GradientFree => true;
    public int MinimumClasses => 2;

    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Square.Run(new MarginObjective(model, labels), threat, images, options with { Seed = run.Seed, ExampleIds = run.ExampleIds, Progress = run.Progress });
}
