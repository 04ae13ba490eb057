using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

/// <summary>
/// A small two-class image set [N,3,4,4] with pixels near 0.5 (the [0,1] box never binds for the
/// perturbations the tests use) and two kinds of signal, as in Ilyas et al.'s picture:
/// a robust feature (pixel 0 moves by ±0.2, with noise 0.1: visible, imperfect) and a non-robust one
/// (pixels 1..24 move by ±0.01 with no noise: perfectly predictive, yet an L2 perturbation of
/// 0.01·√24 ≈ 0.05 erases it).
/// </summary>
public static class SyntheticTwoClass
{
    public const int Pixels = 48;

    public static (Tensor Images, Tensor Labels) Make(int n, long seed)
    {
        var generator = new Generator((ulong)seed);
        var labels = arange(n, dtype: ScalarType.Int64) % 2;
        var sign = (1 - 2 * labels.to_type(ScalarType.Float32)).unsqueeze(1);   // +1 for label 0
        var x = full(new long[] { n, Pixels }, 0.5f) + randn(new long[] { n, Pixels }, generator: generator) * 0.02f;
        x[.., 0] = (0.5f + 0.2f * sign + randn(new long[] { n, 1 }, generator: generator) * 0.1f).squeeze(1);
        x[.., 1..25] = 0.5f + 0.01f * sign.expand(n, 24);
        generator.Dispose();
        return (x.clamp(0, 1).reshape(n, 3, 4, 4), labels);
    }
}
