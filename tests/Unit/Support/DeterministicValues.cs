using static TorchSharp.torch;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// Test data that Python and C# produce bit for bit alike without sharing a random generator: value i
/// of stream s is splitmix64(s·2^32 + i) mapped to a multiple of 2^-23 in [-1, 1) (exact in float32).
/// tests/Unit/Runtime/fixtures/make_layer_fixtures.py has the same function; the PyTorch fixtures are
/// computed on these values, so only the results need storing.
/// </summary>
public static class DeterministicValues
{
    public static ulong SplitMix64(ulong x)
    {
        ulong z = x + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>[..shape] float32 values of stream <paramref name="stream"/>, in row-major (logical) order, times <paramref name="scale"/> (a power of two: exact).</summary>
    public static Tensor Tensor(ulong stream, long[] shape, float scale = 1)
    {
        long n = shape.Aggregate(1L, (a, d) => a * d);
        var values = new float[n];
        for (long i = 0; i < n; i++)
            values[i] = ((SplitMix64((stream << 32) + (ulong)i) >> 40) / 8388608f - 1f) * scale;
        return tensor(values).reshape(shape);
    }

    /// <summary>Positions sampled from a tensor of <paramref name="count"/> elements (stream 5).</summary>
    public static long[] Positions(long count, int samples) =>
        Enumerable.Range(0, samples).Select(k => (long)(SplitMix64((5UL << 32) + (ulong)k) % (ulong)count)).ToArray();

    /// <summary>2^-e with 4^e >= fanIn: about 1/sqrt(fan-in), exact in float32.</summary>
    public static float WeightScale(long fanIn)
    {
        int e = 0;
        while (1L << (2 * e) < fanIn) e++;
        return MathF.Pow(2, -e);
    }
}
