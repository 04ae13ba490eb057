using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// How noisy a map looks: its total variation (sum of absolute differences between neighbouring
/// pixels, both directions, all channels) divided by its L2 norm, per example, computed on the
/// map centred at zero. Scale-free; higher = more pixel-to-pixel jitter relative to its content.
/// A map that is smooth where the object is scores low; salt-and-pepper noise scores high.
/// Use it on <see cref="SaliencyImage.Visualise"/> output (centred at 0.5) or on a raw change.
/// </summary>
public static class Noisiness
{
    /// <summary>Per-example ratio [N] (&gt;= 0) of total variation to L2 norm of <paramref name="maps"/> [N,C,H,W] minus <paramref name="centre"/>.</summary>
    public static Tensor TotalVariationRatio(Tensor maps, double centre = 0)
    {
        using var scope = NewDisposeScope();
        var m = maps.detach() - centre;
        var dy = (m[.., .., 1.., ..] - m[.., .., ..^1, ..]).abs().flatten(1).sum(1);
        var dx = (m[.., .., .., 1..] - m[.., .., .., ..^1]).abs().flatten(1).sum(1);
        var norm = m.flatten(1).norm(1, p: 2);
        return ((dx + dy) / (norm + 1e-12)).MoveToOuterDisposeScope();
    }
}
