using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>How far apart two batches of [0,1] images are, per example.</summary>
public static class ImageDistance
{
    /// <summary>Peak signal-to-noise ratio in dB (peak 1): above ~40 dB a change is invisible; below ~25 dB plainly visible.</summary>
    public static Tensor Psnr(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var mse = (a - b).pow(2).flatten(1).mean([1]);
        return (-10 * log10(mse.clamp_min(1e-20))).MoveToOuterDisposeScope();
    }
}
