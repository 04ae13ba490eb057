using Repro.Explain;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Explain;

public class CounterNoiseTests
{
    /// <summary>The same numbers as a plain scalar splitmix64 + Box–Muller, up to float32 rounding of log and cos.</summary>
    [Test]
    public void ItIsSplitmixAndBoxMuller()
    {
        using var _ = NewDisposeScope();
        const long seed = 3, offset = 1_000_001;
        var noise = CounterNoise.Normal([1000], seed, offset, CPU).data<float>().ToArray();
        for (int i = 0; i < noise.Length; i++)
        {
            long k = offset + i;
            ulong z = unchecked((ulong)(k / 2) + (ulong)seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL);
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
            double u1 = ((z >> 40) + 0.5) / (1 << 24), u2 = (((z >> 16) & 0xFFFFFF) + 0.5) / (1 << 24);
            double expected = Math.Sqrt(-2 * Math.Log(u1)) * (k % 2 == 0 ? Math.Cos(2 * Math.PI * u2) : Math.Sin(2 * Math.PI * u2));
            Assert.That(noise[i], Is.EqualTo(expected).Within(1e-4), $"number {offset + i}");
        }
    }

    [Test]
    public void AnyStretchCanBeDrawnOnItsOwn()
    {
        using var _ = NewDisposeScope();
        var whole = CounterNoise.Normal([2, 3, 4], 7, 0, CPU);
        var first = CounterNoise.Normal([1, 3, 4], 7, 0, CPU);
        var second = CounterNoise.Normal([1, 3, 4], 7, 12, CPU);
        Assert.That(cat([first, second]).eq(whole).all().item<bool>(), Is.True);
        var odd = cat([CounterNoise.Normal([5], 7, 0, CPU), CounterNoise.Normal([19], 7, 5, CPU)]);
        Assert.That(odd.eq(whole.flatten()).all().item<bool>(), Is.True, "stretches that split a Box–Muller pair");
        Assert.That(CounterNoise.Normal([2, 3, 4], 8, 0, CPU).eq(whole).any().item<bool>(), Is.False, "another seed, other numbers");
    }

    [Test]
    public void ItIsStandardNormalAndUncorrelated()
    {
        using var _ = NewDisposeScope();
        var x = CounterNoise.Normal([1_000_000], 11, 0, CPU).to_type(ScalarType.Float64);
        double mean = x.mean().item<double>(), std = x.std().item<double>();
        double tails = x.abs().gt(2).to_type(ScalarType.Float64).mean().item<double>();
        double lag1 = (x[..^1] * x[1..]).mean().item<double>();
        double seeds = (x * CounterNoise.Normal([1_000_000], 12, 0, CPU).to_type(ScalarType.Float64)).mean().item<double>();
        TestContext.Out.WriteLine($"mean {mean:F4}, std {std:F4}, P(|x|>2) {tails:F4} (normal 0.0455), lag-1 {lag1:F4}, seed 11 x seed 12 {seeds:F4}");
        // With 1e6 draws the standard errors are 0.001 (mean, products) and 0.0007 (std): 5 of each.
        Assert.That(Math.Abs(mean), Is.LessThan(0.005));
        Assert.That(std, Is.EqualTo(1).Within(0.004));
        Assert.That(tails, Is.EqualTo(0.0455).Within(0.001));
        Assert.That(Math.Abs(lag1), Is.LessThan(0.005));
        Assert.That(Math.Abs(seeds), Is.LessThan(0.005));
    }
}
