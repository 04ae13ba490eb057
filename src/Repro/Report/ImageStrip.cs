using static TorchSharp.torch;

namespace Repro.Report;

/// <summary>
/// A batch of images [N,3,H,W] laid side by side at their own resolution, separated by white
/// columns, as one [3,H,N*W+(N-1)*gap] image: a caption-free picture for snapshot files (no font
/// rendering, so it does not depend on the machine's fonts).
/// </summary>
internal static class ImageStrip
{
    public static Tensor Horizontal(Tensor images, int gap = 2)
    {
        if (images.dim() != 4 || images.shape[1] != 3) throw new ArgumentException($"expected [N,3,H,W], got [{string.Join(",", images.shape)}]");
        using var scope = NewDisposeScope();
        long n = images.shape[0], h = images.shape[2];
        var parts = new List<Tensor>();
        for (long i = 0; i < n; i++)
        {
            if (i > 0 && gap > 0) parts.Add(ones(new long[] { 3, h, gap }, dtype: images.dtype));
            parts.Add(images[i].detach().to(CPU).clamp(0, 1));
        }
        return cat(parts, 2).MoveToOuterDisposeScope();
    }
}
