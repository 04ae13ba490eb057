using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Projection of adversarial images onto the 8-bit grid inside the threat model's ball, in exact
/// integer arithmetic, so that an image written as an 8-bit PNG is still within the budget (plain
/// rounding can leave it: at L-inf eps 0.03, 0.0314 = 8/255 is nearer to 0.0302 than 7/255 is; an L2
/// perturbation of norm eps grows by up to sqrt(pixels)/510). Originals must be 8-bit images (k/255,
/// as every decoded file is); the offsets d = round(255 x) - round(255 original) are integers, and:
/// <list type="bullet">
/// <item>L-inf: each offset is clipped to ±k, k the largest integer with k/255 &lt;= eps (floor(255 eps)).</item>
/// <item>L2: plain rounding (the nearest grid point) when its norm ||d||₂ is at most 255 eps; otherwise the
/// offsets rounded toward zero (never longer than the float ones), then the pixels with the largest
/// remainders (>= 0.5) rounded away from zero while the norm still fits, which lands on the sphere to
/// within a level. A budget spread below half a level per pixel (L2 0.1 over 224x224x3 is 0.07 of a
/// level each) rounds to no change at all, and the table says so.</item>
/// <item>Unconstrained: rounding only.</item>
/// </list>
/// Every result stays in [0,1]: offsets only shrink toward the original, which is in the box.
/// Batches are [N,...]; the result has the adversarial images' dtype and device; the work is done
/// in float64 (integers up to 2^53 are exact).
/// </summary>
public static class ByteGrid
{
    /// <summary>The largest integer k with k/255 &lt;= eps (guarding 255·eps = 7.9999999 for eps = 8/255).</summary>
    public static int LinfSteps(double eps)
    {
        if (double.IsPositiveInfinity(eps) || eps >= 1) return 255;
        int k = (int)Math.Floor(eps * 255);
        while ((k + 1) / 255.0 <= eps) k++;
        while (k > 0 && k / 255.0 > eps) k--;
        return k;
    }

    /// <summary><paramref name="adversarial"/> on the 8-bit grid, each offset from the original rounded and clipped to ±<see cref="LinfSteps"/>(eps) levels.</summary>
    /// <param name="original">The clean 8-bit images [N,...] in [0,1] (values k/255).</param>
    /// <param name="adversarial">The adversarial images [N,...], same shape.</param>
    /// <param name="eps">L-infinity radius in [0,1] pixel units.</param>
    /// <exception cref="ArgumentException">The shapes differ, or the originals are not on the 8-bit grid.</exception>
    public static Tensor Linf(Tensor original, Tensor adversarial, double eps)
    {
        using var scope = NewDisposeScope();
        var (o, r) = Offsets(original, adversarial);
        int k = LinfSteps(eps);
        return Image(o, r.round().clamp(-k, k), adversarial).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="adversarial"/> on the 8-bit grid with integer offsets of L2 norm at most 255·eps: plain rounding where that fits, else toward zero then up by largest remainder.</summary>
    /// <param name="original">The clean 8-bit images [N,...] in [0,1] (values k/255).</param>
    /// <param name="adversarial">The adversarial images [N,...], same shape.</param>
    /// <param name="eps">L2 radius in [0,1] pixel units, per example.</param>
    /// <exception cref="ArgumentException">The shapes differ, or the originals are not on the 8-bit grid.</exception>
    /// <exception cref="InvalidOperationException">The result left the ball (a bug).</exception>
    public static Tensor L2(Tensor original, Tensor adversarial, double eps)
    {
        using var scope = NewDisposeScope();
        var (o, r) = Offsets(original, adversarial);
        long n = r.shape[0];
        var flat = r.flatten(1);
        double limit = 255 * eps * (255 * eps);
        // Float rounding can put the float perturbation a hair outside the ball: bring it inside first.
        var norm = flat.pow(2).sum(1, keepdim: true).sqrt_();
        flat = flat * (Math.Sqrt(limit) * (1 - 1e-12) / norm.clamp_min(1e-300)).clamp_max_(1.0);
        var rounded = flat.round();
        var roundedFits = rounded.pow(2).sum(1, keepdim: true).le(limit);
        // Where plain rounding leaves the ball: toward zero first (every offset at most the float one,
        // so the norm is inside), then away from zero the pixels with the largest remainders (all
        // >= 0.5, where rounding would have gone) while the squared norm fits; raising |d| from k
        // to k+1 costs 2k+1.
        var kept = flat.trunc();
        var fraction = (flat - kept).abs();
        var room = (limit - kept.pow(2).sum(1, keepdim: true)).clamp_min_(0);
        var order = fraction.argsort(1, descending: true);
        var cost = (kept.abs() * 2 + 1).gather(1, order);
        var take = cost.cumsum(1).le(room).logical_and_(fraction.gather(1, order).ge(0.5));
        var raise = zeros_like(flat).scatter_(1, order, take.to_type(ScalarType.Float64));
        var offsets = where(roundedFits, rounded, kept + flat.sign() * raise);
        if (offsets.pow(2).sum(1).gt(limit).any().item<bool>())
            throw new InvalidOperationException("8-bit L2 projection left the ball (a bug)");
        return Image(o, offsets.reshape(r.shape), adversarial).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="adversarial"/>, clipped to [0,1], rounded to the nearest 8-bit level (no ball).</summary>
    /// <param name="original">The clean 8-bit images [N,...] in [0,1] (values k/255).</param>
    /// <param name="adversarial">The adversarial images [N,...], same shape.</param>
    /// <exception cref="ArgumentException">The shapes differ, or the originals are not on the 8-bit grid.</exception>
    public static Tensor Round(Tensor original, Tensor adversarial)
    {
        using var scope = NewDisposeScope();
        var (o, r) = Offsets(original, adversarial);
        return Image(o, r.round(), adversarial).MoveToOuterDisposeScope();
    }

    /// <summary>The original's bytes o and the float offsets r = 255·clamp(x, 0, 1) − o, in float64.</summary>
    static (Tensor O, Tensor R) Offsets(Tensor original, Tensor adversarial)
    {
        if (!original.shape.SequenceEqual(adversarial.shape))
            throw new ArgumentException($"original [{string.Join(",", original.shape)}] and adversarial [{string.Join(",", adversarial.shape)}] differ in shape");
        var scaled = original.detach().to_type(ScalarType.Float64).to(adversarial.device) * 255;
        var o = scaled.round();
        double off = (scaled - o).abs().max().item<double>();
        if (off > 1e-3)
            throw new ArgumentException($"the original images are not 8-bit images (a value is {off:G3}/255 off the k/255 grid): the written file could not be compared with them");
        var r = adversarial.detach().to_type(ScalarType.Float64).clamp(0, 1) * 255 - o;
        return (o, r);
    }

    static Tensor Image(Tensor o, Tensor d, Tensor like) => ((o + d).clamp_(0, 255) / 255).to_type(like.dtype);
}
