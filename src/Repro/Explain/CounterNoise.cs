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
        var u2 = MiddleBits(hash).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
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
        var hash = Mix(RowCounters(rowKeys, pairs));
        var u1 = LogicalShiftRight(hash, 64 - Bits).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
        var u2 = MiddleBits(hash).to_type(ScalarType.Float32).add_(0.5).mul_(Scale);
        var radius = u1.log_().mul_(-2).sqrt_();
        var angle = u2.mul_(2 * Math.PI);
        var normal = stack([angle.cos() * radius, angle.sin_().mul_(radius)], 2).flatten(1).narrow(1, 0, perRow);
        return normal.to_type(dtype).MoveToOuterDisposeScope();
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

    /// <summary>Bits 16..39 of each hash (the 24 below the high ones): an arithmetic shift and one mask, since the mask drops the sign bits the shift brings in.</summary>
    static Tensor MiddleBits(Tensor hash) => hash.bitwise_right_shift(64 - 2 * Bits).bitwise_and_((1L << Bits) - 1);

    /// <summary>Unsigned right shift of int64 values (libtorch's shift is arithmetic: mask off the copied sign bits).</summary>
    static Tensor LogicalShiftRight(Tensor z, int bits) =>
        z.bitwise_right_shift(bits).bitwise_and_((1L << (64 - bits)) - 1);
}
