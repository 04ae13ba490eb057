using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// Which per-example scalar an attribution differentiates: a chosen logit, or the classifier's
/// cross-entropy loss on a label (the tutorial's saliency uses the loss on the true label).
/// </summary>
public sealed class AttributionTarget
{
    readonly Tensor classes;
    readonly bool loss;

    AttributionTarget(Tensor classes, bool loss)
    {
        this.classes = Guard.Classes(classes, classes?.shape[0] ?? 0, loss ? "labels" : "classes");
        this.loss = loss;
    }

    /// <summary>The logit of class classes[i] for example i.</summary>
    public static AttributionTarget Logit(Tensor classes) => new(classes, false);

    /// <summary>The cross-entropy loss of example i on label labels[i].</summary>
    public static AttributionTarget Loss(Tensor labels) => new(labels, true);

    /// <summary>Per-example scores [N] of logits [N,K].</summary>
    public Tensor Score(Tensor logits)
    {
        var c = classes.to(logits.device);
        return loss
            ? nn.functional.cross_entropy(logits, c, reduction: nn.Reduction.None)
            : logits.gather(1, c.unsqueeze(1)).squeeze(1);
    }

    /// <summary>The target for the examples at <paramref name="indices"/> (used when copies of examples are batched together).</summary>
    public AttributionTarget Select(Tensor indices) => new(classes.index_select(0, indices.to(classes.device)), loss);
}
