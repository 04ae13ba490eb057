using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The identity of each example of a batch, which keys its randomness (random starts, Square's
/// proposals, SmoothGrad's noise): with the seed, an example's id alone decides its random
/// numbers, so its result is the same attacked alone, in any batch, in any order and on any number
/// of shards. Callers that know their examples pass a dataset index (<see cref="Range"/>) or a
/// stable hash of a file name (<see cref="OfName"/>). The documented fallback when no ids are
/// given is <see cref="OfContent"/>: the hash of the example's own pixels (identical images then
/// share their random numbers, which is harmless: they would get the same result anyway).
/// </summary>
public static class ExampleIds
{
    /// <summary>Ids first .. first + count - 1 (dataset indices).</summary>
    public static long[] Range(long first, long count) => Enumerable.Range(0, checked((int)count)).Select(i => first + i).ToArray();

    /// <summary>A stable id for a name (for example a file path relative to its folder): the first 8 bytes of SHA-256 of its UTF-8 bytes.</summary>
    public static long OfName(string name) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(name)), 0);

    /// <summary>
    /// Per example of [N,...] images: the first 8 bytes of SHA-256 of its pixels as float32
    /// (copied to the host; on the CPU a batch of 500 CIFAR images takes about a millisecond).
    /// The same image gives the same id on every device and in every batch.
    /// </summary>
    public static long[] OfContent(Tensor images)
    {
        using var scope = NewDisposeScope();
        var host = images.detach().to(ScalarType.Float32).cpu().contiguous().reshape(images.shape[0], -1);
        long n = host.shape[0], per = host.shape[1];
        var ids = new long[n];
        var all = host.data<float>().ToArray();
        for (long i = 0; i < n; i++)
            ids[i] = BitConverter.ToInt64(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(all.AsSpan((int)(i * per), (int)per))), 0);
        return ids;
    }

    /// <summary>Ids given, checked against the batch size, or the content fallback.</summary>
    public static long[] Resolve(Tensor images, IReadOnlyList<long>? ids)
    {
        if (ids is null) return OfContent(images);
        Guard.Ids(ids, images.shape[0], "example ids");
        return ids.ToArray();
    }
}
