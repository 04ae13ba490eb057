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
