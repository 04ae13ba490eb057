using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>Whether an attack pushes its objective up (untargeted, feature maximisation) or down (targeted).</summary>
public enum Direction
{
    /// <summary>Raise the objective (untargeted losses, feature maximisation).</summary>
    Ascend,
    /// <summary>Lower the objective (targeted losses).</summary>
    Descend,
}

/// <summary>What an objective says about a batch: one loss per example, and the logits if it computed them.</summary>
public sealed record ObjectiveValue(Tensor PerExampleLoss, Tensor? Logits);

/// <summary>
/// What an attack optimises: any differentiable per-example function of the images. The PGD loop
/// only needs <see cref="Evaluate"/> (to differentiate) and <see cref="Succeeded"/> (to report).
/// Losses are per example so that the examples of a batch never influence each other.
/// </summary>
public abstract class AttackObjective
{
    /// <summary>Whether the attack raises (<see cref="Direction.Ascend"/>) or lowers (<see cref="Direction.Descend"/>) the per-example loss.</summary>
    public abstract Direction Direction { get; }

    /// <summary>The modules whose parameters the attack freezes while it runs (they need no gradient).</summary>
    public virtual IEnumerable<nn.Module> Modules => [];

    /// <summary>Per-example loss [N] of images [N,...] in [0,1] (differentiable w.r.t. the images).</summary>
    public abstract ObjectiveValue Evaluate(Tensor images);

    /// <summary>Per-example bool [N]: has the attack reached its goal at this value?</summary>
    public abstract Tensor Succeeded(ObjectiveValue value);

    /// <summary>
    /// The same objective for a subset of the batch's examples (int64 indices into it), or null
    /// when the objective cannot be split (then attacks keep every example to the end). Attacks use
    /// it to drop examples that are done.
    /// </summary>
    public virtual AttackObjective? Subset(Tensor index) => null;

    /// <summary>The class indices [N] (labels or targets) the objective compares logits with, or null when it has none; attacks check them against the batch before they start.</summary>
    public virtual Tensor? Classes => null;

    bool classesFit;

    /// <summary>Refuses, once per objective, class indices outside the model's classes (the first logits tell how many), before libtorch's gather or cross-entropy would fail on them.</summary>
    protected void CheckClasses(Tensor classes, Tensor logits, string name)
    {
        if (classesFit) return;
        Guard.ClassesFit(classes, logits.shape[^1], name);
        classesFit = true;
    }

    /// <summary>Per-example bool [N]: is <paramref name="candidate"/> better for the attacker than <paramref name="incumbent"/>?</summary>
    public Tensor Better(Tensor candidate, Tensor incumbent) =>
        Direction == Direction.Ascend ? candidate.gt(incumbent) : candidate.lt(incumbent);
}

/// <summary>Cross-entropy on a classifier's logits: away from the true labels, or toward target classes.</summary>
public sealed class CrossEntropyObjective : AttackObjective
{
    readonly nn.Module<Tensor, Tensor> model;
    readonly Tensor classes;
    readonly bool targeted;

    CrossEntropyObjective(nn.Module<Tensor, Tensor> model, Tensor classes, bool targeted, string name)
    {
        this.model = Guard.NotNull(model);
        this.classes = Guard.Classes(classes, classes?.shape[0] ?? 0, name);
        this.targeted = targeted;
    }

    /// <summary>Ascend the loss on the true labels; success = the prediction is no longer the label.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="labels"/> is null.</exception>
    /// <exception cref="ReproArgumentException"><paramref name="labels"/> is not int64 [N] of indices >= 0.</exception>
    public static CrossEntropyObjective Untargeted(nn.Module<Tensor, Tensor> model, Tensor labels) => new(model, labels, false, nameof(labels));

    /// <summary>Descend the loss toward <paramref name="targets"/>; success = the prediction is the target.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="targets"/> is null.</exception>
    /// <exception cref="ReproArgumentException"><paramref name="targets"/> is not int64 [N] of indices >= 0.</exception>
    public static CrossEntropyObjective Targeted(nn.Module<Tensor, Tensor> model, Tensor targets) => new(model, targets, true, nameof(targets));

    /// <summary>Descend when targeted, else ascend.</summary>
    public override Direction Direction => targeted ? Direction.Descend : Direction.Ascend;
    /// <inheritdoc/>
    public override IEnumerable<nn.Module> Modules => [model];
    /// <inheritdoc/>
    public override AttackObjective Subset(Tensor index) => new CrossEntropyObjective(model, classes.index_select(0, index.to(classes.device)), targeted, targeted ? "targets" : "labels");
    /// <inheritdoc/>
    public override Tensor Classes => classes;

    /// <summary>Per-example cross-entropy [N] of the logits [N,classes] against the labels (or targets), and the logits; images [N,C,H,W] in [0,1].</summary>
    public override ObjectiveValue Evaluate(Tensor images)
    {
        var logits = model.call(images);
        CheckClasses(classes, logits, targeted ? "targets" : "labels");
        var loss = nn.functional.cross_entropy(logits, classes.to(logits.device), reduction: nn.Reduction.None);
        return new ObjectiveValue(loss, logits);
    }

    /// <summary>Per-example bool [N]: untargeted, the prediction (argmax of the logits) is not the label; targeted, it is the target.</summary>
    public override Tensor Succeeded(ObjectiveValue value)
    {
        using var predicted = value.Logits!.argmax(1);
        return targeted ? predicted.eq(classes.to(predicted.device)) : predicted.ne(classes.to(predicted.device));
    }
}

/// <summary>
/// Any per-example function of the images, pushed in the given direction; it never "succeeds" by
/// itself. Name the modules it runs so that their parameters are frozen during the attack.
/// </summary>
/// <param name="perExampleLoss">Images [N,...] in [0,1] to a loss [N], differentiable w.r.t. the images.</param>
/// <param name="direction">Whether the attack raises or lowers the loss.</param>
/// <param name="modules">The modules the loss runs; their parameters are frozen during the attack.</param>
public sealed class CustomObjective(Func<Tensor, Tensor> perExampleLoss, Direction direction, params nn.Module[] modules) : AttackObjective
{
    /// <summary>The direction given to the constructor.</summary>
    public override Direction Direction => direction;
    /// <summary>The modules given to the constructor.</summary>
    public override IEnumerable<nn.Module> Modules => modules;
    /// <summary>The loss function's value [N] at the images; no logits.</summary>
    public override ObjectiveValue Evaluate(Tensor images) => new(perExampleLoss(images), null);
    /// <summary>All false [N]: a custom objective never succeeds by itself.</summary>
    public override Tensor Succeeded(ObjectiveValue value) => zeros(value.PerExampleLoss.shape[0], dtype: ScalarType.Bool, device: value.PerExampleLoss.device);
}
