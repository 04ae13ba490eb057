using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The Square attack (Andriushchenko, Croce, Flammarion and Hein, ECCV 2020): a score-based,
/// gradient-free random search. Each query changes one square window of the current best
/// perturbation (L-inf: the window's pixels go to ±eps per channel; L2: the window takes a
/// centred "double bump" pattern and the mass of a second window, and the whole perturbation is
/// rescaled to norm eps) and keeps the change where the objective improved or the example was
/// fooled; fooled examples stop. The square's side shrinks on a fixed schedule
/// (<see cref="SquareOptions.P"/>). One forward pass of the examples still attacked per query, no
/// gradient: the check that a model is not "robust" only because its gradients are useless.
///
/// Written from the paper and checked against the reference implementations (max-andr/square-attack,
/// fra31/auto-attack square.py). Differences: every example draws its own window positions, signs and
/// pattern orientation from per-example noise keyed by (seed, example id, query) — the reference
/// draws one window position per batch — so an example's result never depends on its batch; and
/// window positions are uniform over all valid positions (the reference's draw never reaches the last
/// row and column). Images are [N,C,H,W] in [0,1]; use it with <see cref="MarginObjective"/> (the
/// reference's margin loss) or any objective with logits. With a low <see cref="AttackRun.Precision"/>
/// the queries run the model in that precision and the result is confirmed in float32 (<see cref="LowPrecision.Confirm"/>).
/// </summary>
public static class Square
{
    /// <summary>Runs the Square attack on <paramref name="objective"/> within <paramref name="threat"/>; fooled examples stop querying.</summary>
    /// <param name="objective">What to optimise, with logits (e.g. <see cref="MarginObjective"/>, or a targeted objective); it must split per example (<see cref="AttackObjective.Subset"/>).</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="threat"><see cref="L2Ball"/> or <see cref="LinfBall"/> (eps in [0,1] pixel units).</param>
    /// <param name="run">This call's seed (squares, signs and starts), example ids, progress callback (query rounds done, rounds in all) and precision.</param>
    /// <param name="options">Queries and p_init; null: the defaults (<see cref="SquareOptions"/>).</param>
    /// <returns>Per example a successful iterate if one was found, else the best-loss one, with its loss, success and perturbation norms.</returns>
    /// <exception cref="ArgumentNullException">The objective, images, threat model or run is null.</exception>
    /// <exception cref="ReproInputException">Invalid options, images not [N,C,H,W], another threat model, an objective that cannot be split, or example ids that do not match the batch.</exception>
    public static AttackResult Run(AttackObjective objective, Tensor images, ThreatModel threat, AttackRun run, SquareOptions? options = null)
    {
        GradientAttackLoop.Inputs(objective, threat, images);
        Guard.Run(run, images.shape[0]);
        options ??= new SquareOptions();
        options.Validate();
        bool l2 = threat switch
        {
            L2Ball => true,
            LinfBall => false,
            _ => throw new ReproInputException($"Square attack supports the L2 and L-inf balls, not {threat}"),
        };
        if (run.Precision == AttackPrecision.Float32) return Search(objective, threat, images, run, options, l2);
        AttackResult searched;
        using (LowPrecision.Enter(objective.Modules, run.Precision))
            searched = Search(objective, threat, images, run, options, l2);
        return LowPrecision.Confirm(objective, threat, images.detach(), searched);
    }

    static AttackResult Search(AttackObjective objective, ThreatModel threat, Tensor images, AttackRun run, SquareOptions options, bool l2)
    {
        using var frozen = new FrozenParameters(objective.Modules);
        using var _ = no_grad();
        var original = images.detach();
        long n = original.shape[0], c = original.shape[1], h = original.shape[2], w = original.shape[3];
        double eps = threat.Eps;
        var ids = ExampleIds.Resolve(original, run.ExampleIds);
        // Two purposes, so that the start and query q never share a stream (query q is sub-stream q of the query keys).
        using var startKeys = tensor(RandomStreams.Keys(run.Seed, RandomPurpose.SquareStart, ids), dtype: ScalarType.Int64, device: original.device);
        using var keys = tensor(RandomStreams.Keys(run.Seed, RandomPurpose.SquareQuery, ids), dtype: ScalarType.Int64, device: original.device);
        using var book = new IterateBook(objective, threat, original, IterateChoice.BestLoss);
        using var patterns = new Patterns(original.device, original.dtype);

        using (var scope = NewDisposeScope())
        {
            var start = l2 ? L2Start(original, startKeys, eps, patterns) : LinfStart(original, startKeys, eps);
            var value = objective.Evaluate(start);
            book.Offer(null, start, value.PerExampleLoss, value.Logits, objective.Succeeded(value));
        }

        for (int query = 0; query < options.Queries; query++)
        {
            using var scope = NewDisposeScope();
            var rows = nonzero(book.Success!.logical_not()).flatten();
            if (rows.shape[0] == 0)
            {
                run.Progress?.Invoke(options.Queries, options.Queries);
                break;
            }
            bool all = rows.shape[0] == n;
            var x = all ? original : original.index_select(0, rows);
            var best = all ? book.Images! : book.Images!.index_select(0, rows);
            var activeObjective = all ? objective : objective.Subset(rows) ?? throw new ReproInputException("Square attack needs an objective that can be split per example");
            double p = options.P(query);
            var u = Explain.CounterNoise.Uniform(Explain.CounterNoise.Derive(all ? keys : keys.index_select(0, rows), tensor((long)query, device: keys.device)), 5 + c);
            var candidate = l2 ? L2Proposal(x, best, u, p, eps, patterns) : LinfProposal(x, best, u, p, eps);
            var value = activeObjective.Evaluate(candidate);
            book.Offer(all ? null : rows, candidate, value.PerExampleLoss, value.Logits, activeObjective.Succeeded(value));
            run.Progress?.Invoke(query + 1, options.Queries);
        }
        return book.TakeResult();
    }

    /// <summary>Side of the square for fraction p of the pixels: round(sqrt(p·H·W)), at least <paramref name="minimum"/>, at most the image's side.</summary>
    static long Side(double p, long h, long w, long minimum) => Math.Min(Math.Max((long)Math.Round(Math.Sqrt(p * h * w)), minimum), Math.Min(h, w));

    /// <summary>L-inf start: vertical stripes, each column of each channel at ±eps.</summary>
    static Tensor LinfStart(Tensor x, Tensor keys, double eps)
    {
        long n = x.shape[0], c = x.shape[1], w = x.shape[3];
        var signs = Sign(Explain.CounterNoise.Uniform(keys, c * w)).reshape(n, c, 1, w);
        return (x + signs.to_type(x.dtype) * eps).clamp_(0, 1);
    }

    /// <summary>L-inf query: one window per example; its pixels become x ± eps (one sign per channel), clipped to the box.</summary>
    static Tensor LinfProposal(Tensor x, Tensor best, Tensor u, double p, double eps)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        long s = Side(p, h, w, 1);
        var index = WindowIndex(u[.., 0], u[.., 1], s, h, w, c);
        var signs = Sign(u[.., 5..(int)(5 + c)]).to_type(x.dtype).reshape(n, c, 1);
        var window = x.reshape(n, c, h * w).gather(2, index).add_(signs * eps).clamp_(0, 1);
        var candidate = best.clone();
        candidate.view(n, c, h * w).scatter_(2, index, window);
        return candidate;
    }

    /// <summary>L2 start: a grid of windows of side H/5, each a double-bump pattern with a random sign per channel, rescaled to norm eps.</summary>
    static Tensor L2Start(Tensor x, Tensor keys, double eps, Patterns patterns)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        long s = Math.Max(h / 5, 1);
        long first = (h - s * 5) / 2;
        long across = w / s, down = h / s;
        var u = Explain.CounterNoise.Uniform(keys, down * across * c);
        var delta = zeros_like(x);
        var pattern = patterns.Upright(s);
        long k = 0;
        for (long i = 0, top = first; i < down; i++, top += s)
            for (long j = 0, left = first; j < across; j++, left += s, k++)
            {
                if (top + s > h || left + s > w) continue;
                var sign = Sign(u[.., (int)(k * c)..(int)((k + 1) * c)]).to_type(x.dtype).reshape(n, c, 1, 1);
                delta[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(top, top + s), TensorIndex.Slice(left, left + s)].add_(pattern * sign);
            }
        return (x + delta * (eps / (PerExampleNorm(delta) + 1e-12))).clamp_(0, 1);
    }

    /// <summary>
    /// L2 query: window 1 takes the double-bump pattern (random sign per channel, random
    /// orientation) plus its own normalised old content, rescaled so that the perturbation keeps its
    /// norm budget; window 2 gives its mass up (set to zero); then the perturbation is rescaled to
    /// norm eps and clipped to the box.
    /// </summary>
    static Tensor L2Proposal(Tensor x, Tensor best, Tensor u, double p, double eps, Patterns patterns)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        long s = Side(p, h, w, 3);
        if (s % 2 == 0) s = Math.Min(s + 1, Math.Min(h, w));
        var delta = best - x;
        var flat = delta.view(n, c, h * w);
        var first = WindowIndex(u[.., 0], u[.., 1], s, h, w, c);
        var second = WindowIndex(u[.., 2], u[.., 3], s, h, w, c);
        var old = flat.gather(2, first);                      // [N,C,s*s]
        var secondOld = flat.gather(2, second);
        // The second window's pixels that are not also in the first (the union's mass counts once).
        var inFirst = Inside(second[.., 0], first[.., 0], s, w); // [N, s*s]
        var unionSq = old.square().sum(2) + (secondOld.square() * inFirst.logical_not().unsqueeze(1)).sum(2); // [N,C]
        var imageSq = delta.square().sum([1, 2, 3]).reshape(n, 1);
        var oldNorm = old.square().sum(2, keepdim: true).sqrt_();
        var transposed = u[.., 4].gt(0.5).reshape(n, 1, 1);
        var pattern = patterns.Upright(s).reshape(1, 1, s * s);
        var patternT = patterns.Transposed(s).reshape(1, 1, s * s);
        var signs = Sign(u[.., 5..(int)(5 + c)]).to_type(x.dtype).reshape(n, c, 1);
        var fresh = where(transposed, patternT, pattern) * signs + old / (oldNorm + 1e-12);
        var budget = ((eps * eps - imageSq).clamp_min(0) / c + unionSq).sqrt_().unsqueeze(2); // [N,C,1]
        fresh = fresh / (fresh.square().sum(2, keepdim: true).sqrt_() + 1e-12) * budget;
        flat.scatter_(2, second, zeros_like(secondOld));
        flat.scatter_(2, first, fresh);
        return delta.mul_(eps / (PerExampleNorm(delta) + 1e-12)).add_(x).clamp_(0, 1);
    }

    /// <summary>Flat pixel indices [N,C,s*s] of an s×s window at a per-example position drawn from uniforms [N] (all valid positions equally likely).</summary>
    static Tensor WindowIndex(Tensor uRow, Tensor uColumn, long s, long h, long w, long c)
    {
        long n = uRow.shape[0];
        var top = uRow.mul(h - s + 1).floor_().clamp_max_(h - s).to_type(ScalarType.Int64);
        var left = uColumn.mul(w - s + 1).floor_().clamp_max_(w - s).to_type(ScalarType.Int64);
        var offsets = arange(s, dtype: ScalarType.Int64, device: uRow.device);
        var rows = top.unsqueeze(1) + offsets.unsqueeze(0);    // [N,s]
        var columns = left.unsqueeze(1) + offsets.unsqueeze(0);
        var index = (rows.unsqueeze(2) * w + columns.unsqueeze(1)).reshape(n, 1, s * s);
        return index.expand(n, c, s * s).contiguous();
    }

    /// <summary>Per window pixel of <paramref name="index"/> [N, s*s]: is it inside the s×s window whose first pixel is <paramref name="otherIndex"/>'s first index?</summary>
    static Tensor Inside(Tensor index, Tensor otherIndex, long s, long w)
    {
        var row = index.div(w, rounding_mode: RoundingMode.floor);
        var column = index.remainder(w);
        var top = otherIndex[.., ..1].div(w, rounding_mode: RoundingMode.floor);
        var left = otherIndex[.., ..1].remainder(w);
        return row.ge(top).logical_and_(row.lt(top + s)).logical_and_(column.ge(left)).logical_and_(column.lt(left + s));
    }

    /// <summary>±1 from uniforms in (0,1).</summary>
    static Tensor Sign(Tensor uniform) => uniform.gt(0.5).to_type(ScalarType.Float32).mul_(2).sub_(1);

    static Tensor PerExampleNorm(Tensor t) => t.flatten(1).norm(1, keepdim: true, p: 2).reshape(t.shape[0], 1, 1, 1);

    /// <summary>
    /// The L2 patterns of the sides one run meets, each made once: the side changes only at the
    /// schedule's steps (a handful of sides in 5000 queries), while making a pattern is host
    /// arithmetic (0.6 ms at s = 201) and a host-to-device copy, which every query used to repeat twice.
    /// </summary>
    sealed class Patterns(Device device, ScalarType dtype) : IDisposable
    {
        readonly Dictionary<long, (Tensor Upright, Tensor Transposed)> bySide = [];

        /// <summary>The pattern [s,s] (<see cref="Pattern"/>), on the images' device and in their dtype.</summary>
        public Tensor Upright(long s) => Of(s).Upright;

        /// <summary>The pattern turned by a quarter: its transpose [s,s] (the bumps side by side instead of one above the other).</summary>
        public Tensor Transposed(long s) => Of(s).Transposed;

        (Tensor Upright, Tensor Transposed) Of(long s)
        {
            if (bySide.TryGetValue(s, out var both)) return both;
            // Kept outside the caller's dispose scope: they live as long as the run.
            var upright = Pattern(s, device, dtype).DetachFromDisposeScope();
            var transposed = upright.t().contiguous().DetachFromDisposeScope();
            return bySide[s] = (upright, transposed);
        }

        public void Dispose()
        {
            foreach (var (upright, transposed) in bySide.Values)
            {
                upright.Dispose();
                transposed.Dispose();
            }
        }
    }

    /// <summary>
    /// The L2 attack's s×s pattern: the upper half a centred bump of nested rectangles (weights
    /// 1/(k+1)² for the k-th ring), the lower half its negative, normalised to unit L2 norm.
    /// </summary>
    internal static Tensor Pattern(long s, Device device, ScalarType dtype)
    {
        var upper = Bumps(s / 2, s);
        var lower = Bumps(s - s / 2, s);
        var values = new double[s * s];
        for (long i = 0; i < s / 2; i++) for (long j = 0; j < s; j++) values[i * s + j] = upper[i, j];
        for (long i = 0; i < s - s / 2; i++) for (long j = 0; j < s; j++) values[(s / 2 + i) * s + j] = -lower[i, j];
        double norm = Math.Sqrt(values.Sum(v => v * v));
        return tensor(values.Select(v => (float)(v / norm)).ToArray(), dtype: ScalarType.Float32, device: device).reshape(s, s).to_type(dtype);
    }

    /// <summary>Nested rectangles centred in an a×b block: ring k (of side 2k+1, clipped to the block) adds 1/(k+1)²; normalised to unit L2 norm.</summary>
    internal static double[,] Bumps(long a, long b)
    {
        var d = new double[Math.Max(a, 0), b];
        if (a == 0) return d;
        long ca = a / 2 + 1, cb = b / 2 + 1, rings = Math.Max(ca, cb);
        // A cell at Chebyshev distance r from the centre (ca − 1, cb − 1) lies in rings r .. rings − 1
        // (every cell of the block is within rings − 1). Its value is their weights added in the
        // order the rings are laid down, so it is the same to the bit as adding ring after ring, in
        // O(a·b) instead of O(s³).
        var tail = new double[rings];
        for (long r = 0; r < rings; r++)
            for (long k = r; k < rings; k++) tail[r] += 1.0 / ((k + 1) * (k + 1));
        double sumSq = 0;
        for (long i = 0; i < a; i++)
            for (long j = 0; j < b; j++)
            {
                double v = tail[Math.Max(Math.Abs(i - (ca - 1)), Math.Abs(j - (cb - 1)))];
                d[i, j] = v;
                sumSq += v * v;
            }
        double norm = Math.Sqrt(sumSq);
        for (long i = 0; i < a; i++) for (long j = 0; j < b; j++) d[i, j] /= norm;
        return d;
    }
}
