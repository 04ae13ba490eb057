using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// SmoothGrad (Smilkov et al. 2017) as a noise tunnel around any attribution: the mean of the
/// inner attribution over <see cref="Samples"/> copies of each image with Gaussian noise of
/// standard deviation <see cref="Sigma"/> (in [0,1] pixel units; noisy copies are not clipped).
/// Copies of all examples are processed together in batches of <see cref="BatchSize"/>, so the
/// model always sees full batches. The noise is per example: copy k of an example is
/// <see cref="CounterNoise"/>'s stream keyed by Derive(<see cref="RandomStreams.Key"/>(seed, <see cref="RandomPurpose.SmoothGradNoise"/>, id), k),
/// computed on the images' device, so an example's map is the same alone, in any batch, in any
/// order and on any device (up to the model's float rounding). Ids come from the caller (dataset
/// indices, hashes of file names) or, by default, from each image's pixels (<see cref="ExampleIds.OfContent"/>).
/// </summary>
public sealed class SmoothGrad(IAttribution inner, int samples = 100, double sigma = 0.3, int batchSize = 32, long seed = 0) : IAttribution
{
    /// <summary>Noisy copies averaged per image, &gt;= 1.</summary>
    public int Samples { get; } = Guard.AtLeast(samples, 1);
    /// <summary>Standard deviation of the Gaussian noise, &gt;= 0, in [0,1] pixel units.</summary>
    public double Sigma { get; } = sigma >= 0 && double.IsFinite(sigma) ? sigma : throw new ReproArgumentException(nameof(sigma), $"must be finite and >= 0, got {sigma}");
    /// <summary>Noisy copies (of all examples together) per call of the inner attribution, &gt;= 1.</summary>
    public int BatchSize { get; } = Guard.AtLeast(batchSize, 1);

    readonly IAttribution inner = Guard.NotNull(inner);

    /// <summary>Called after each batch of copies with (copies done, copies in all), for progress bars.</summary>
    public Action<long, long>? Progress { get; init; }

    /// <summary>The map with each example's noise keyed by the hash of its pixels.</summary>
    public Tensor Attribute(Tensor images, AttributionTarget target) => Attribute(images, target, ExampleIds.OfContent(Guard.Images(images)));

    /// <summary>The map with each example's noise keyed by <paramref name="exampleIds"/> (one per image).</summary>
    public Tensor Attribute(Tensor images, AttributionTarget target, IReadOnlyList<long> exampleIds)
    {
        Guard.Images(images);
        Guard.NotNull(target);
        Guard.NotNull(exampleIds);
        long n = images.shape[0], total = n * Samples;
        Guard.Ids(exampleIds, n);
        long perCopy = images.numel() / n;
        using var keys = tensor(RandomStreams.Keys(seed, RandomPurpose.SmoothGradNoise, exampleIds), dtype: ScalarType.Int64, device: images.device);
        var sum = zeros_like(images);
        // A low-precision inner gradient converts the model once for all batches, not once per batch.
        using var low = (inner as VanillaGradient)?.EnterPrecision();
        for (long start = 0; start < total; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            long end = Math.Min(total, start + BatchSize);
            // Copy k belongs to example k / Samples: copies of one example are consecutive.
            // (Made on the images' device: a small host-to-GPU copy per batch would stall the queue.)
            var copies = arange(start, end, dtype: ScalarType.Int64, device: images.device);
            var owners = copies.div(Samples, rounding_mode: RoundingMode.floor);
            var clean = images.index_select(0, owners);
            var rowKeys = CounterNoise.Derive(keys.index_select(0, owners), copies.remainder(Samples));
            var noise = CounterNoise.Normal(rowKeys, perCopy, clean.dtype).reshape(clean.shape);
            var attribution = inner.Attribute(noise.mul_(Sigma).add_(clean), target.Select(owners));
            sum.index_add_(0, owners, attribution, 1.0);
            Progress?.Invoke(end, total);
        }
        return sum.div_(Samples);
    }
}
