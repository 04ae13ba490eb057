using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// SmoothGrad (Smilkov et al. 2017) as a noise tunnel around any attribution: the mean of the
/// inner attribution over <see cref="Samples"/> copies of each image with Gaussian noise of
/// standard deviation <see cref="Sigma"/> (in [0,1] pixel units; noisy copies are not clipped).
/// Copies of all examples are processed together in batches of <see cref="BatchSize"/>, so the
/// model always sees full batches. Same seed, same map: on the CPU the noise comes from a seeded
/// CPU generator; on other devices it is computed there by <see cref="CounterNoise"/> (TorchSharp
/// has no seeded GPU generators, and CPU draws copied to an H100 made SmoothGrad 3x slower than the
/// model), so a GPU's map equals the CPU's map for that noise, not for the CPU generator's.
/// </summary>
public sealed class SmoothGrad(IAttribution inner, int samples = 100, double sigma = 0.3, int batchSize = 32, long seed = 0) : IAttribution
{
    public int Samples { get; } = samples >= 1 ? samples : throw new ReproInputException($"SmoothGrad samples must be >= 1, got {samples}");
    public double Sigma { get; } = sigma >= 0 ? sigma : throw new ReproInputException($"SmoothGrad sigma must be >= 0, got {sigma}");
    public int BatchSize { get; } = batchSize >= 1 ? batchSize : throw new ReproInputException($"SmoothGrad batch size must be >= 1, got {batchSize}");

    /// <summary>
    /// Draw the noise from <see cref="CounterNoise"/> on every device, the CPU included, so that one
    /// seed gives the same map on the CPU and on a GPU (up to float rounding): what the claims use.
    /// Off by default, where the CPU's noise comes from the seeded CPU generator.
    /// </summary>
    public bool DeviceIndependentNoise { get; init; }

    /// <summary>Called after each batch of copies with (copies done, copies in all), for progress bars.</summary>
    public Action<long, long>? Progress { get; init; }

    public Tensor Attribute(Tensor images, AttributionTarget target)
    {
        long n = images.shape[0], total = n * Samples;
        bool cpuGenerator = images.device_type == DeviceType.CPU && !DeviceIndependentNoise;
        using var generator = cpuGenerator ? new Generator((ulong)seed) : null;
        long perCopy = images.numel() / n;
        var sum = zeros_like(images);
        for (long start = 0; start < total; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            long end = Math.Min(total, start + BatchSize);
            // Copy k belongs to example k / Samples: copies of one example are consecutive.
            // (Made on the images' device: a small host-to-GPU copy per batch would stall the queue.)
            var owners = arange(start, end, dtype: ScalarType.Int64, device: images.device).div_(Samples, rounding_mode: RoundingMode.floor);
            var clean = images.index_select(0, owners);
            var noise = cpuGenerator
                ? randn(clean.shape, dtype: clean.dtype, generator: generator)
                : CounterNoise.Normal(clean.shape, seed, start * perCopy, clean.device, clean.dtype);
            var attribution = inner.Attribute(noise.mul_(Sigma).add_(clean), target.Select(owners));
            sum.index_add_(0, owners, attribution, 1.0);
            Progress?.Invoke(end, total);
        }
        return sum.div_(Samples);
    }
}
