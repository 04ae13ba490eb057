using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The difference-of-logits-ratio loss of Croce and Hein (ICML 2020), untargeted:
/// DLR = −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), with z_π the logits in decreasing order. Ascended;
/// success = the prediction is no longer the label. Invariant to shifting and scaling the logits,
/// so a model cannot hide behind saturated softmax gradients. Needs at least 3 classes (the
/// denominator uses the third-largest logit): for two-class models use the logit margin
/// (<see cref="MarginObjective"/>).
/// </summary>
public sealed class DlrObjective(nn.Module<Tensor, Tensor> model, Tensor labels) : AttackObjective
{
    readonly nn.Module<Tensor, Tensor> model = Guard.NotNull(model);
    readonly Tensor labels = Guard.Classes(labels, labels?.shape[0] ?? 0);

    /// <inheritdoc/>
    public override Tensor Classes => labels;

    /// <summary>The fewest classes DLR is defined for: its denominator z_π1 − z_π3 needs a third logit.</summary>
    public const int MinimumClasses = 3;

    /// <summary>Ascend: the loss rises as the label's logit falls below the others.</summary>
    public override Direction Direction => Direction.Ascend;
    /// <inheritdoc/>
    public override IEnumerable<nn.Module> Modules => [model];
    /// <inheritdoc/>
    public override AttackObjective Subset(Tensor index) => new DlrObjective(model, labels.index_select(0, index.to(labels.device)));

    /// <summary>DLR loss [N] and logits [N,classes] of images [N,C,H,W] in [0,1] (differentiable w.r.t. the images).</summary>
    /// <exception cref="ReproInputException">The model has fewer than <see cref="MinimumClasses"/> classes.</exception>
    public override ObjectiveValue Evaluate(Tensor images)
    {
        var logits = model.call(images);
        Require(logits, MinimumClasses, "the DLR loss", "its denominator z_π1 − z_π3 needs a third class");
        CheckClasses(labels, logits, nameof(labels));
        using var scope = NewDisposeScope();
        var index = labels.to(logits.device).unsqueeze(1);
        var top = logits.topk(3, dim: 1).values;
        var trueLogit = logits.gather(1, index).squeeze(1);
        var others = logits.scatter(1, index, full_like(trueLogit.unsqueeze(1), double.NegativeInfinity)).amax(1);
        var loss = (trueLogit - others).neg_().div_(top[.., 0] - top[.., 2] + 1e-12);
        return new ObjectiveValue(loss.MoveToOuterDisposeScope(), logits);
    }

    /// <summary>Per-example bool [N]: the prediction (argmax of the logits) is not the label.</summary>
    public override Tensor Succeeded(ObjectiveValue value)
    {
        using var predicted = value.Logits!.argmax(1);
        return predicted.ne(labels.to(predicted.device));
    }

    /// <summary>Refuses, with a message that says why and what to use instead, a model with too few classes for a DLR loss.</summary>
    internal static void Require(Tensor logits, int minimum, string loss, string why)
    {
        long classes = logits.shape[^1];
        if (classes < minimum)
            throw new ReproInputException($"{loss} needs >= {minimum} classes ({why}), but the model has {classes}: " +
                                          (classes == 2 ? "use the logit margin (apgd-margin, MarginObjective) for a two-class model" : "use apgd-ce or apgd-dlr"));
    }
}

/// <summary>
/// The targeted DLR loss of Croce and Hein (ICML 2020): −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2),
/// ascended (it pushes the target logit z_t above the label's); success is still untargeted: the
/// prediction is no longer the label (robust accuracy is what it measures). Needs at least 4 classes.
/// </summary>
public sealed class TargetedDlrObjective(nn.Module<Tensor, Tensor> model, Tensor labels, Tensor targets) : AttackObjective
{
    readonly nn.Module<Tensor, Tensor> model = Guard.NotNull(model);
    readonly Tensor labels = Guard.Classes(labels, labels?.shape[0] ?? 0);
    readonly Tensor targets = Guard.Classes(targets, labels?.shape[0] ?? 0);

    /// <inheritdoc/>
    public override Tensor Classes => labels;

    /// <summary>The fewest classes targeted DLR is defined for: its denominator uses the third and fourth largest logits.</summary>
    public const int MinimumClasses = 4;

    /// <summary>Ascend: the loss rises as the target's logit rises above the label's.</summary>
    public override Direction Direction => Direction.Ascend;
    /// <inheritdoc/>
    public override IEnumerable<nn.Module> Modules => [model];
    /// <inheritdoc/>
    public override AttackObjective Subset(Tensor index) =>
        new TargetedDlrObjective(model, labels.index_select(0, index.to(labels.device)), targets.index_select(0, index.to(targets.device)));

    /// <summary>Targeted DLR loss [N] and logits [N,classes] of images [N,C,H,W] in [0,1] (differentiable w.r.t. the images).</summary>
    /// <exception cref="ReproInputException">The model has fewer than <see cref="MinimumClasses"/> classes.</exception>
    public override ObjectiveValue Evaluate(Tensor images)
    {
        var logits = model.call(images);
        DlrObjective.Require(logits, MinimumClasses, "the targeted DLR loss", "its denominator uses the third and fourth largest logits");
        CheckClasses(labels, logits, nameof(labels));
        CheckClasses(targets, logits, nameof(targets));
        using var scope = NewDisposeScope();
        var top = logits.topk(4, dim: 1).values;
        var trueLogit = logits.gather(1, labels.to(logits.device).unsqueeze(1)).squeeze(1);
        var targetLogit = logits.gather(1, targets.to(logits.device).unsqueeze(1)).squeeze(1);
        var loss = (trueLogit - targetLogit).neg_().div_(top[.., 0] - (top[.., 2] + top[.., 3]) * 0.5 + 1e-12);
        return new ObjectiveValue(loss.MoveToOuterDisposeScope(), logits);
    }

    /// <summary>Per-example bool [N], untargeted: the prediction (argmax of the logits) is not the label (whether or not it is the target).</summary>
    public override Tensor Succeeded(ObjectiveValue value)
    {
        using var predicted = value.Logits!.argmax(1);
        return predicted.ne(labels.to(predicted.device));
    }
}
