using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// How steep the linear model's loss can be, to judge a learning rate before using it. The Hessian of
/// two-class cross-entropy with respect to v = w_0 - w_1 is E[σ(1-σ) x xᵀ] ≤ ¼ E[x xᵀ] (σ(1-σ) ≤ ¼, reached
/// at the start where the logits are near 0), so full-batch gradient descent on v is stable only for a
/// step below 2 / (¼ λ_max) = 8 / λ_max, with λ_max the largest eigenvalue of the pixels' second moment;
/// SGD on the two weight rows moves v twice as far, so its limit is 4 / λ_max.
/// </summary>
internal static class Curvature
{
    /// <summary>λ_max of E[x xᵀ] over flattened images [N, pixels], by power iteration (no N x N or pixels x pixels matrix is formed).</summary>
    public static double SecondMomentTopEigenvalue(Tensor flatImages, int iterations = 30)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var v = ones(flatImages.shape[1], dtype: flatImages.dtype, device: flatImages.device);
        for (int i = 0; i < iterations; i++)
        {
            using var step = NewDisposeScope();
            var next = flatImages.t().mv(flatImages.mv(v));
            v = step.MoveToOuter(next / next.norm());
        }
        return flatImages.mv(v).square().mean().item<float>();
    }

    /// <summary>The largest stable learning rate of full-batch SGD on the two weight rows of a two-class linear model (at the start of training).</summary>
    public static double RowSgdStabilityLimit(Tensor flatImages) => 4 / SecondMomentTopEigenvalue(flatImages);
}
