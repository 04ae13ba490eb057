using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The one batched runner: any attack over a set of images, in chunks of at most
/// <c>chunkSize</c> examples so that its intermediate tensors stay bounded whatever the set's size,
/// with one progress report over the whole set and one merged <see cref="AttackResult"/>. Every
/// example is attacked independently and its random numbers are keyed by the seed and its own id
/// (<see cref="ExampleIds"/>, sliced per chunk), so the result equals one call on the whole set for
/// any chunk size — chunking changes memory and speed, never a number (the legacy batch generator,
/// <see cref="PgdOptions.BatchGeneratorNoise"/>, is the one exception and is refused here).
/// </summary>
public static class BatchedAttack
{
    /// <summary>Chunk size used when the caller gives none: 1,000 CIFAR images (about 12 MB per tensor) or 256 ImageNet-sized ones.</summary>
    public static int DefaultChunk(Tensor images) => Guard.NotNull(images).dim() == 4 && images.shape[2] * images.shape[3] > 64 * 64 ? 256 : 1000;

    /// <summary>Runs <paramref name="attack"/> (untargeted, IAttack's call shape) on every image, <paramref name="chunkSize"/> at a time.</summary>
    /// <param name="attack">The attack.</param>
    /// <param name="model">The classifier: images [N,C,H,W] in [0,1] to logits.</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="labels">True labels, int64 [N].</param>
    /// <param name="threat">The set to stay within.</param>
    /// <param name="run">Seed, example ids (one per image, or null for each image's hash) and progress over the whole set.</param>
    /// <param name="chunkSize">Most examples per call of the attack, &gt;= 1.</param>
    /// <returns>One result for all N examples, in their order.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ReproArgumentException">Images, labels or ids that do not fit, or a chunk size below 1.</exception>
    public static AttackResult Run(IAttack attack, nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run, int chunkSize)
    {
        Guard.NotNull(attack);
        Guard.NotNull(model);
        Guard.Images(images);
        Guard.Classes(labels, images.shape[0]);
        Guard.NotNull(threat);
        Guard.Run(run, images.shape[0]);
        return Chunks(images.shape[0], chunkSize, run.Progress, (start, length, progress) =>
            attack.Run(model, images.narrow(0, start, length), labels.narrow(0, start, length), threat,
                run with { ExampleIds = Slice(run.ExampleIds, start, length), Progress = progress }));
    }

    /// <summary>Runs PGD with the objective of each chunk on every image, <paramref name="chunkSize"/> at a time.</summary>
    /// <param name="objective">The objective for the chunk that starts at example <c>start</c> and holds <c>length</c> examples (for example the cross-entropy toward those examples' targets).</param>
    /// <param name="images">Clean images [N,C,H,W] (or flattened [N,D]) in [0,1].</param>
    /// <param name="threat">The set to stay within.</param>
    /// <param name="run">Seed, example ids (one per image, or null for each image's hash), progress over the whole set, and precision.</param>
    /// <param name="options">PGD's settings.</param>
    /// <param name="chunkSize">Most examples per PGD call, &gt;= 1.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ReproArgumentException">Images or ids that do not fit, a chunk size below 1, or the legacy batch generator with more than one chunk.</exception>
    public static AttackResult Pgd(Func<long, long, AttackObjective> objective, Tensor images, ThreatModel threat, AttackRun run, PgdOptions options, int chunkSize)
    {
        Guard.NotNull(objective);
        Guard.Inputs(images, 2, nameof(images));
        Guard.NotNull(threat);
        Guard.Run(run, images.shape[0]);
        Guard.NotNull(options).Validate();
        if (options.BatchGeneratorNoise && options.RandomStart && images.shape[0] > chunkSize)
            throw new ReproArgumentException(nameof(options), "the legacy batch generator draws a chunk's starts in order, so chunks would differ from one call: attack in one call");
        return Chunks(images.shape[0], chunkSize, run.Progress, (start, length, progress) =>
            Attacks.Pgd.Run(objective(start, length), images.narrow(0, start, length), threat,
                run with { ExampleIds = Slice(run.ExampleIds, start, length), Progress = progress }, options));
    }

    /// <summary>Runs <paramref name="attack"/> on chunks [start, start + length) of <paramref name="count"/> examples and concatenates the results; the chunk's progress is scaled to the whole set.</summary>
    static AttackResult Chunks(long count, int chunkSize, Action<long, long>? progress, Func<long, long, Action<long, long>?, AttackResult> attack)
    {
        Guard.AtLeast(chunkSize, 1);
        if (count <= chunkSize) return attack(0, count, progress);
        var parts = new List<AttackResult>();
        try
        {
            for (long start = 0; start < count; start += chunkSize)
            {
                long length = Math.Min(chunkSize, count - start), first = start;
                // A chunk's (done, total) in its own units becomes the whole set's, weighted by examples.
                Action<long, long>? scaled = progress is null ? null : (done, total) => progress(first * total + done * length, count * total);
                parts.Add(attack(start, length, scaled));
            }
            return Concatenate(parts);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>The results of consecutive chunks as one (new tensors; the parts stay the caller's).</summary>
    public static AttackResult Concatenate(IReadOnlyList<AttackResult> parts)
    {
        Guard.NotNull(parts);
        if (parts.Count == 0) throw new ReproArgumentException(nameof(parts), "no results to concatenate");
        return new AttackResult
        {
            Adversarial = cat(parts.Select(p => p.Adversarial).ToList()),
            Loss = cat(parts.Select(p => p.Loss).ToList()),
            Success = cat(parts.Select(p => p.Success).ToList()),
            L2 = cat(parts.Select(p => p.L2).ToList()),
            Linf = cat(parts.Select(p => p.Linf).ToList()),
            Logits = parts.All(p => p.Logits is not null) ? cat(parts.Select(p => p.Logits!).ToList()) : null,
        };
    }

    static long[]? Slice(IReadOnlyList<long>? ids, long start, long length) => ids?.Skip((int)start).Take((int)length).ToArray();
}
