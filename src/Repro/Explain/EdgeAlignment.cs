using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// How much a saliency map "looks like the object": the Pearson correlation, per example, between
/// the map's magnitude (|map - centre| summed over channels) and the image's edge strength (the
/// magnitude of the grey image's finite-difference gradient). A map that traces the object's
/// outlines scores high; texture or noise unrelated to the picture scores near 0.
/// </summary>
public static class EdgeAlignment
{
    /// <summary>Per-example Pearson correlation [N] in [-1,1] between the map magnitude and the image edge strength.</summary>
    /// <param name="maps">Saliency maps [N,C,H,W] (e.g. <see cref="SaliencyImage.Visualise"/> output).</param>
    /// <param name="images">The images [N,C,H,W] in [0,1] the maps explain.</param>
    /// <param name="centre">The map value meaning "no signal" (0.5 for visualised maps).</param>
    public static Tensor Correlation(Tensor maps, Tensor images, double centre = 0.5)
    {
        using var scope = NewDisposeScope();
        var magnitude = (maps.detach() - centre).abs().sum(1);            // [N,H,W]
        var grey = images.detach().mean([1]);                              // [N,H,W]
        var dy = nn.functional.pad(grey[.., 1.., ..] - grey[.., ..^1, ..], [0, 0, 0, 1]);
        var dx = nn.functional.pad(grey[.., .., 1..] - grey[.., .., ..^1], [0, 1, 0, 0]);
        var edges = (dx.pow(2) + dy.pow(2)).sqrt();
        var a = magnitude.flatten(1);
        var b = edges.flatten(1);
        a = a - a.mean([1], keepdim: true);
        b = b - b.mean([1], keepdim: true);
        var r = (a * b).sum(1) / (a.norm(1, p: 2) * b.norm(1, p: 2) + 1e-12);
        return r.MoveToOuterDisposeScope();
    }
}
