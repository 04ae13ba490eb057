using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// A whole data set after an untargeted attack: the attacked images, the model's prediction on each
/// before and after, and the perturbation's L2 norm. Owns its tensors.
/// </summary>
internal sealed class AttackedSet : IDisposable
{
    /// <summary>The adversarial images, [N,C,H,W] in [0,1].</summary>
    public required Tensor Adversarial { get; init; }
    /// <summary>The model's predicted class of each clean image, int64 [N].</summary>
    public required Tensor CleanPrediction { get; init; }
    /// <summary>The model's predicted class of each adversarial image, int64 [N].</summary>
    public required Tensor AdversarialPrediction { get; init; }
    /// <summary>L2 norm of each perturbation, [N].</summary>
    public required Tensor L2 { get; init; }

    /// <summary>
    /// Untargeted PGD of <paramref name="loss"/> (away from the true label) on every image, through the
    /// one batched runner (<see cref="BatchedAttack"/>), <paramref name="chunk"/> images at a time, and
    /// the model's predictions before and after. Chunks bound the attack's intermediate tensors (about
    /// 12 MB each for 1,000 CIFAR images); measured here (2 cores, 4,000 images, 20 steps): chunks of
    /// 1,000 and 2,000 cost the same, 500 about twice as much, 4,000 three to seven times as much (49 MB
    /// per tensor: likely above glibc's 32 MB limit for reusing freed memory).
    /// </summary>
    /// <param name="model">The classifier: images [N,C,H,W] in [0,1] to logits [N,classes].</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="labels">True labels, int64 [N].</param>
    /// <param name="threat">The ball and box the attack stays in.</param>
    /// <param name="run">Seed, example ids (one per image; null: each image's hash) and progress over the whole set.</param>
    /// <param name="options">PGD steps and step size.</param>
    /// <param name="loss">The loss pushed up.</param>
    /// <param name="chunk">Most images per PGD call.</param>
    public static AttackedSet Attack(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run, PgdOptions options,
        AttackLoss loss, int chunk = 1000)
    {
        using var outer = NewDisposeScope();
        using var result = BatchedAttack.Pgd((start, length) => loss == AttackLoss.Margin
                ? new MarginObjective(model, labels.narrow(0, start, length))
                : CrossEntropyObjective.Untargeted(model, labels.narrow(0, start, length)),
            images, threat, run, options, chunk);
        var set = new AttackedSet
        {
            Adversarial = result.Adversarial.clone(),
            CleanPrediction = LinearTraining.Predict(model, images, chunk),
            AdversarialPrediction = result.Logits!.argmax(1),
            L2 = result.L2.clone(),
        };
        outer.MoveToOuter(set.Adversarial, set.CleanPrediction, set.AdversarialPrediction, set.L2);
        return set;
    }

    /// <summary>Examples classified correctly before the attack and wrongly after it.</summary>
    public Tensor Flipped(Tensor labels) => CleanPrediction.eq(labels).logical_and(AdversarialPrediction.ne(labels));

    /// <summary>Disposes the four tensors.</summary>
    public void Dispose()
    {
        Adversarial.Dispose();
        CleanPrediction.Dispose();
        AdversarialPrediction.Dispose();
        L2.Dispose();
    }
}

/// <summary>The loss an untargeted attack pushes up: cross-entropy on the true label, or the logit margin (<see cref="MarginObjective"/>).</summary>
public enum AttackLoss
{
    /// <summary>Cross-entropy on the true label.</summary>
    CrossEntropy,
    /// <summary>The logit margin (<see cref="MarginObjective"/>).</summary>
    Margin,
}

