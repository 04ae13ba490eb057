using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// The tutorial's way of showing a gradient as an image: per example and channel, subtract the
/// mean, divide by three standard deviations, add 0.5 and clip to [0,1] (grey = no signal).
/// </summary>
public static class SaliencyImage
{
    /// <summary>An attribution [N,C,H,W] as an image [N,C,H,W] in [0,1]: (a - mean) / (3 std) + 0.5 per example and channel, clipped.</summary>
    /// <exception cref="ArgumentException">The attribution is not 4-dimensional.</exception>
    public static Tensor Visualise(Tensor attribution)
    {
        if (attribution.dim() != 4) throw new ArgumentException($"expected [N,C,H,W], got [{string.Join(",", attribution.shape)}]");
        using var scope = NewDisposeScope();
        var flat = attribution.detach().flatten(2);
        var mean = flat.mean([2], keepdim: true).unsqueeze(-1);
        var std = flat.std(2, keepdim: true).unsqueeze(-1);
        return ((attribution.detach() - mean) / (3 * std + 1e-12) + 0.5).clamp(0, 1).MoveToOuterDisposeScope();
    }
}
