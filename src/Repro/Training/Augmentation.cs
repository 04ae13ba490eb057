using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// The standard CIFAR augmentation: zero-pad by <c>padding</c> pixels, take a random 32x32 crop,
/// flip left-right with probability 1/2. Random numbers come from the caller's generator only,
/// so a seeded run augments identically every time.
/// </summary>
internal static class Augmentation
{
    public static Tensor CropAndFlip(Tensor images, int padding, bool flip, Generator generator)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], h = images.shape[2], w = images.shape[3];
        var offsets = randint(0, 2 * padding + 1, new[] { n, 2 }, dtype: ScalarType.Int64, generator: generator).data<long>().ToArray();
        var flips = rand(new[] { n }, generator: generator).data<float>().ToArray();
        var padded = padding > 0 ? nn.functional.pad(images, [padding, padding, padding, padding]) : images;
        var pieces = new Tensor[n];
        for (long i = 0; i < n; i++)
        {
            var crop = padded[i].narrow(1, offsets[2 * i], h).narrow(2, offsets[2 * i + 1], w);
            pieces[i] = flip && flips[i] < 0.5f ? crop.flip(2) : crop;
        }
        return stack(pieces).MoveToOuterDisposeScope();
    }
}
