using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// Standard normal noise computed on any device from (seed, position) alone: numbers 2j and 2j+1 of
/// a stream are the Box–Muller pair (cosine, then sine) of two 24-bit uniforms taken from a hash of
/// j and the seed (the splitmix64 finaliser, in wrapping int64 tensor arithmetic). Why not a libtorch generator: TorchSharp 0.107 creates only CPU
/// generators (its native THSGenerator_new ignores the device), and drawing on the CPU then copying
/// made SmoothGrad 3x slower than the model on an H100. A stream is the same on every device up to
/// float rounding of log and cos, and any stretch of it can be drawn without drawing what precedes it.
/// </summary>
public static class CounterNoise
{
    const int Bits = 24; // per uniform: float32 holds 24 bits exactly
    const double Scale = 1.0 / (1 << Bits);

    /// <summary>Numbers <paramref name="offset"/> .. offset + numel(shape) - 1 of the stream for <paramref name="seed"/>, shaped <paramref name="shape"/>.</summary>
    public static Tensor Normal(long[] shape, long seed, long offset, Device device, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        long firstPair = offset / 2, pairs = (offset + count + 1) / 2 - firstPair;
        var counter = arange(firstPair, firstPair + pairs, dtype: ScalarType.Int64, device: device);
        var hash = Mix(counter.add_(unchecked(seed * (long)0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019L)));
        // Two independent 24-bit uniforms in (0,1) from the high and the middle bits.
        var u1 = LogicalShiftRight(hash, 64 - Bits).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
        var u2 = LogicalShiftRight(hash, 64 - 2 * Bits).bitwise_and_((1L << Bits) - 1).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
        var radius = u1.log_().mul_(-2).sqrt_();
        var angle = u2.mul_(2 * Math.PI);
        var normal = stack([angle.cos() * radius, angle.sin_().mul_(radius)], 1).flatten().narrow(0, offset % 2, count);
        return normal.reshape(shape).to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Keyed rows: row r of the [R, <paramref name="perRow"/>] result holds numbers 0 .. perRow - 1 of
    /// the stream whose seed is <paramref name="rowKeys"/>[r] (int64 [R], on the device the noise is
    /// wanted on). A row depends on its key alone, never on the other rows: this is what makes
    /// per-example randomness (keys from <see cref="Key"/>) independent of batch composition and order.
    /// </summary>
    public static Tensor Normal(Tensor rowKeys, long perRow, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        long pairs = (perRow + 1) / 2;
        var (u1, u2) = rowKeys.device_type == TorchSharp.DeviceType.CPU ? UniformPairsOnHost(rowKeys, pairs) : UniformPairs(rowKeys, pairs);
        var radius = u1.log_().mul_(-2).sqrt_();
        var angle = u2.mul_(2 * Math.PI);
        var normal = stack([angle.cos() * radius, angle.sin_().mul_(radius)], 2).flatten(1).narrow(1, 0, perRow);
        return normal.to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The two uniforms of every pair in int64 tensor arithmetic (any device).</summary>
    internal static (Tensor U1, Tensor U2) UniformPairs(Tensor rowKeys, long pairs)
    {
        var hash = Mix(RowCounters(rowKeys, pairs));
        var u1 = LogicalShiftRight(hash, 64 - Bits).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
        var u2 = LogicalShiftRight(hash, 64 - 2 * Bits).bitwise_and_((1L << Bits) - 1).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
        return (u1, u2);
    }

    /// <summary>
    /// The same uniforms, bit for bit, computed on the host: the hash is integer arithmetic (exact in
    /// both), and (v + 0.5f) * 2^-24 is the same float32 rounding as the tensors' add and multiply. On
    /// the CPU this replaces about twenty passes of int64 tensor operations over the pairs with one loop
    /// (SmoothGrad's noise was 1.6 % of a ResNet18 batch's forward and backward). Tested equal to <see cref="UniformPairs"/>.
    /// </summary>
    internal static (Tensor U1, Tensor U2) UniformPairsOnHost(Tensor rowKeys, long pairs)
    {
        var keys = rowKeys.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
        long total = checked(keys.Length * pairs);
        var u1 = new float[total];
        var u2 = new float[total];
        const float scale = 1f / (1 << Bits);
        Parallel.For(0, keys.Length, r =>
        {
            ulong start = unchecked((ulong)keys[r] * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL);
            long at = r * pairs;
            for (long j = 0; j < pairs; j++)
            {
                ulong z = Finalise(unchecked(start + (ulong)j));
                u1[at + j] = ((z >> (64 - Bits)) + 0.5f) * scale;
                u2[at + j] = (((z >> (64 - 2 * Bits)) & ((1UL << Bits) - 1)) + 0.5f) * scale;
            }
        });
        var shape = new long[] { keys.Length, pairs };
        return (tensor(u1, shape), tensor(u2, shape));
    }

    /// <summary>Keyed rows of uniforms in (0,1) (24 bits each, from the high bits of the same hash), [R, <paramref name="perRow"/>].</summary>
    public static Tensor Uniform(Tensor rowKeys, long perRow, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var hash = Mix(RowCounters(rowKeys, perRow));
        return LogicalShiftRight(hash, 64 - Bits).to_type(ScalarType.Float32).add_(0.5).mul_(Scale).to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>New keys [R] from keys [R] and an index per row (int64 [R] or a scalar): splitmix64 of key + (index + 1)·φ. Used for sub-streams (copy k of an example, query k of an attack).</summary>
    public static Tensor Derive(Tensor keys, Tensor index)
    {
        using var scope = NewDisposeScope();
        return Mix(keys.add(index.add(1).mul(unchecked((long)0x9E3779B97F4A7C15UL)))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A stream key from a seed and a list of integers (for example a purpose and an example's id):
    /// the splitmix64 finaliser chained over them. Host-side twin of <see cref="Derive"/>'s mixing.
    /// </summary>
    public static long Key(long seed, params long[] parts)
    {
        ulong h = Finalise(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL));
        foreach (long part in parts) h = Finalise(unchecked(h ^ ((ulong)part * 0xD1B54A32D192ED03UL + 0x9E3779B97F4A7C15UL)));
        return unchecked((long)h);
    }

    static ulong Finalise(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>Counters [R, count]: row r is j + key_r·φ + c for j = 0 .. count - 1, the same counters <see cref="Normal(long[], long, long, Device, ScalarType)"/> uses for seed key_r.</summary>
    static Tensor RowCounters(Tensor rowKeys, long count)
    {
        var start = rowKeys.to_type(ScalarType.Int64).mul(unchecked((long)0x9E3779B97F4A7C15UL)).add_(0x632BE59BD9B4E019L);
        return arange(0, count, dtype: ScalarType.Int64, device: rowKeys.device).unsqueeze(0).add(start.unsqueeze(1));
    }

    /// <summary>The splitmix64 finaliser (Steele, Lea and Flood 2014), on int64 with wrapping multiplication.</summary>
    static Tensor Mix(Tensor z)
    {
        z.bitwise_xor_(LogicalShiftRight(z, 30)).mul_(unchecked((long)0xBF58476D1CE4E5B9UL));
        z.bitwise_xor_(LogicalShiftRight(z, 27)).mul_(unchecked((long)0x94D049BB133111EBUL));
        return z.bitwise_xor_(LogicalShiftRight(z, 31));
    }

    /// <summary>Unsigned right shift of int64 values (libtorch's shift is arithmetic: mask off the copied sign bits).</summary>
    static Tensor LogicalShiftRight(Tensor z, int bits) =>
        z.bitwise_right_shift(bits).bitwise_and_((1L << (64 - bits)) - 1);
}
