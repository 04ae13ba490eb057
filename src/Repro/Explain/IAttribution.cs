using static TorchSharp.torch;

namespace Repro.Explain;

/// <summary>
/// One call shape for every attribution method (as in Captum): images [N,C,H,W] in [0,1] and a
/// target in, a map of the same shape out. Wrappers such as <see cref="SmoothGrad"/> take any
/// attribution and return another.
/// </summary>
public interface IAttribution
{
    /// <summary>An attribution map [N,C,H,W] for <paramref name="images"/> [N,C,H,W] in [0,1] and the per-example <paramref name="target"/>.</summary>
    Tensor Attribute(Tensor images, AttributionTarget target);
}
