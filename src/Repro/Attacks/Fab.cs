using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// FAB, the fast adaptive boundary attack (Croce and Hein, "Minimally distorted adversarial examples
/// with a fast adaptive boundary attack", ICML 2020): a minimum-norm attack. Each iteration
/// linearises the classifier at the current iterate, takes the decision boundary nearest in the
/// threat's norm (untargeted: over every other class; FAB-T: toward one target class), and
/// projects onto that hyperplane intersected with the [0,1] box both the iterate and the original
/// image; the next iterate is a convex combination of the two projections (overshot by eta), with
/// weight alpha = ‖d_iterate‖ / (‖d_iterate‖ + ‖d_original‖) ≤ alpha_max on the original's side, which
/// keeps it close to the image. Once an iterate is adversarial, the smallest one so far is kept and the
/// iterate steps back toward the original by beta. L2 and L-inf; the exact projection onto
/// hyperplane ∩ box is solved per example by sorting the coordinates' breakpoints.
///
/// Written from the paper after reading the reference (fra31/auto-attack, fab_base.py, fab_pt.py,
/// fab_projections.py). As in the reference, the first restart starts at the image (with one restart
/// FAB draws no random number) and later ones at a random point at distance eps/2; success means a
/// perturbation of norm ≤ eps was found. Differences: the random restarts are keyed per example
/// (seed, <see cref="RandomPurpose.FabStart"/>, target rank (0 untargeted, k + 1 for FAB-T's k-th target), restart, id),
/// so no example's result depends on its batch;
/// the projection is computed in float64; untargeted FAB takes one backward pass per class per
/// iteration (the reference's cost too), FAB-T one.
/// </summary>
public static class Fab
{
    /// <summary>Untargeted FAB within <paramref name="threat"/>: per example, the smallest adversarial perturbation it finds.</summary>
    /// <param name="model">The classifier: images [N,C,H,W] (or [N,...]) in [0,1] to logits [N,classes]; frozen (eval mode, no weight gradients) while it runs.</param>
    /// <param name="images">Clean images [N,...] in [0,1].</param>
    /// <param name="labels">True labels [N], int64.</param>
    /// <param name="threat"><see cref="L2Ball"/> or <see cref="LinfBall"/>: the norm to minimise, and eps (success: a perturbation of norm ≤ eps was found; restarts start at distance eps/2).</param>
    /// <param name="run">This call's seed (random restarts), example ids and progress callback (iterations done, iterations in all). FAB has no low-precision search: it runs in float32 whatever <see cref="AttackRun.Precision"/> says.</param>
    /// <param name="options">Iterations, restarts, alpha_max, eta, beta and target classes; null: the reference's defaults (<see cref="FabOptions"/>).</param>
    /// <returns>
    /// Per example the smallest adversarial image found if its norm is ≤ eps (success), else the clean
    /// image; Loss is the logit margin max_{j≠y} z_j − z_y at the returned image; MinimumNorm [N] the
    /// norm of the smallest adversarial perturbation found (0 for a misclassified image, +infinity where none was found).
    /// </returns>
    /// <exception cref="ArgumentNullException">An argument other than the options is null.</exception>
    /// <exception cref="ReproInputException">Invalid options, another threat model, or example ids that do not match the batch.</exception>
    public static AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run, FabOptions? options = null) =>
        Attack(model, images, labels, threat, run, options ?? new FabOptions(), targeted: false);

    /// <summary>
    /// FAB-T: FAB toward, in turn, the classes with the 2nd, 3rd, ... highest clean logits other than the
    /// label (<see cref="FabOptions.TargetClasses"/>, at most classes − 1). Success is untargeted
    /// (the prediction leaves the label), as in the reference. Parameters and result as <see cref="Run"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument other than the options is null.</exception>
    /// <exception cref="ReproInputException">Invalid options, another threat model, or example ids that do not match the batch.</exception>
    public static AttackResult RunTargeted(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run, FabOptions? options = null) =>
        Attack(model, images, labels, threat, run, options ?? new FabOptions(), targeted: true);

    /// <summary>
    /// Robust accuracy at each radius of <paramref name="radii"/> from one minimum-norm run: the fraction of
    /// examples whose smallest adversarial perturbation is larger than the radius (misclassified examples
    /// have 0 and count as not robust). Exact for FAB's own answer when it ran with
    /// <see cref="FabOptions.Exhaustive"/> (otherwise an upper bound below the run's eps).
    /// </summary>
    /// <param name="minimumNorms">Per example [N]: <see cref="AttackResult.MinimumNorm"/>.</param>
    /// <param name="radii">Radii in the threat's norm, [0,1] pixel units.</param>
    /// <returns>One accuracy in [0,1] per radius.</returns>
    public static double[] RobustAccuracyCurve(Tensor minimumNorms, IReadOnlyList<double> radii)
    {
        var norms = minimumNorms.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        if (norms.Length == 0) return radii.Select(_ => 0.0).ToArray();
        return radii.Select(r => norms.Count(m => m > r) / (double)norms.Length).ToArray();
    }

    static AttackResult Attack(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run, FabOptions options, bool targeted)
    {
        Guard.NotNull(model);
        Guard.Inputs(images, 2);
        Guard.Classes(labels, images.shape[0]);
        Guard.NotNull(threat);
        Guard.Run(run, images.shape[0]);
        options.Validate();
        bool l2 = threat switch
        {
            L2Ball => true,
            LinfBall => false,
            _ => throw new ReproInputException($"FAB supports the L2 and L-inf balls, not {threat}"),
        };
        using var frozen = new FrozenParameters([model]);
        var original = images.detach();
        long n = original.shape[0];
        var ids = ExampleIds.Resolve(original, run.ExampleIds);
        double eps = threat.Eps;
        var y = labels.to(original.device);

        Tensor best, adversarial, ranking;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var logits = model.forward(original);
            var correct = logits.argmax(1).eq(y);
            // Misclassified images need no perturbation: their minimum norm is 0.
            best = where(correct, full(n, double.PositiveInfinity, dtype: ScalarType.Float64, device: original.device),
                zeros(n, dtype: ScalarType.Float64, device: original.device)).MoveToOuterDisposeScope();
            adversarial = original.clone().MoveToOuterDisposeScope();
            // Classes by clean logit, highest first, with the label moved last (FAB-T's targets).
            ranking = logits.scatter(1, y.unsqueeze(1), full_like(logits[.., ..1], double.NegativeInfinity)).argsort(1, descending: true).MoveToOuterDisposeScope();
        }
        try
        {
            int targets = targeted ? (int)Math.Min(options.TargetClasses, ranking.shape[1] - 1) : 1;
            long total = (long)targets * options.Restarts * options.Iterations, done = 0;
            for (int k = 0; k < targets; k++)
                for (int restart = 0; restart < options.Restarts; restart++)
                {
                    using var scope = NewDisposeScope();
                    // Reference: later runs only on examples not yet fooled within eps; exhaustive: on every correct one.
                    var open = options.Exhaustive ? best.gt(0) : best.gt(eps);
                    var rows = nonzero(open).flatten();
                    if (rows.shape[0] == 0) { done += options.Iterations; continue; }
                    var rowList = rows.cpu().data<long>().ToArray();
                    var x0 = original.index_select(0, rows);
                    var rowLabels = y.index_select(0, rows);
                    Tensor? target = targeted ? ranking.index_select(0, rows)[.., k] : null;
                    Tensor start = x0;
                    if (restart > 0)
                    {
                        var noise = ExampleNoise.For(run.Seed, rowList.Select(r => ids[r]).ToArray(), RandomPurpose.FabStart, targeted ? k + 1 : 0, restart);
                        start = RandomStart(x0, noise, eps, l2);
                    }
                    long before = done;
                    var (norm, adv) = SingleRun(model, x0, rowLabels, target, start, l2, options,
                        run.Progress is null ? null : i => run.Progress(before + i, total));
                    done += options.Iterations;
                    var rowBest = best.index_select(0, rows);
                    var better = norm.lt(rowBest);
                    best.index_copy_(0, rows, where(better, norm, rowBest));
                    adversarial.index_copy_(0, rows, where(better.reshape(BroadcastShape(adv)), adv, adversarial.index_select(0, rows)));
                }
            run.Progress?.Invoke(total, total);
            return Result(model, original, y, adversarial, best, eps);
        }
        finally
        {
            best.Dispose();
            adversarial.Dispose();
            ranking.Dispose();
        }
    }

    static AttackResult Result(nn.Module<Tensor, Tensor> model, Tensor original, Tensor y, Tensor adversarial, Tensor best, double eps)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var success = best.le(eps);
        var returned = where(success.reshape(BroadcastShape(original)), adversarial, original);
        var logits = model.forward(returned);
        var index = y.unsqueeze(1);
        var trueLogit = logits.gather(1, index).squeeze(1);
        var margin = logits.scatter(1, index, full_like(trueLogit.unsqueeze(1), double.NegativeInfinity)).amax(1) - trueLogit;
        var delta = (returned - original).flatten(1);
        return new AttackResult
        {
            Adversarial = returned.MoveToOuterDisposeScope(), Loss = margin.MoveToOuterDisposeScope(),
            Success = logits.argmax(1).ne(y).logical_and(success).MoveToOuterDisposeScope(),
            L2 = delta.norm(1, p: 2).MoveToOuterDisposeScope(), Linf = delta.abs().amax(1).MoveToOuterDisposeScope(),
            Logits = logits.MoveToOuterDisposeScope(), MinimumNorm = best.clone().MoveToOuterDisposeScope(),
        };
    }

    /// <summary>The reference's random restart: the image plus a random direction of norm eps/2 (L-inf: uniform in the cube, scaled to L-inf norm eps/2; L2: Gaussian, scaled to L2 norm eps/2), clipped to the box.</summary>
    static Tensor RandomStart(Tensor x0, ExampleNoise noise, double eps, bool l2)
    {
        using var scope = NewDisposeScope();
        var t = l2 ? noise.Normal(x0) : noise.Uniform(x0).mul_(2).sub_(1);
        var size = Norm(t.flatten(1), l2).clamp_min(1e-12).reshape(BroadcastShape(x0));
        return (x0 + t / size * (0.5 * eps)).clamp_(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One FAB run from <paramref name="start"/> for the examples of <paramref name="x0"/>: per example the
    /// norm [N] (float64, +infinity where none) of the smallest adversarial iterate seen, and that iterate (else the image).
    /// </summary>
    static (Tensor Norm, Tensor Adversarial) SingleRun(nn.Module<Tensor, Tensor> model, Tensor x0, Tensor y, Tensor? target, Tensor start,
        bool l2, FabOptions options, Action<long>? progress)
    {
        long n = x0.shape[0];
        var shape = BroadcastShape(x0);
        var flat0 = x0.flatten(1).to_type(ScalarType.Float64);
        var x1 = start.clone();
        var best = full(n, double.PositiveInfinity, dtype: ScalarType.Float64, device: x0.device);
        var adversarial = x0.clone();
        for (int it = 0; it < options.Iterations; it++)
        {
            using var scope = NewDisposeScope();
            var (df, dg) = Linearise(model, x1, y, target);        // [N,K], [N,K,D]
            var dual = l2 ? dg.square().sum(2).sqrt() : dg.abs().sum(2);
            var nearest = df.abs().div(dual.add(1e-12)).argmin(1, keepdim: true); // [N,1]
            var w = dg.gather(1, nearest.unsqueeze(2).expand(n, 1, dg.shape[2])).squeeze(1).to_type(ScalarType.Float64); // [N,D]
            var f = df.gather(1, nearest).squeeze(1).to_type(ScalarType.Float64);
            var flat1 = x1.flatten(1).to_type(ScalarType.Float64);
            var b = (w * flat1).sum(1) - f;                          // the hyperplane w·z = b
            var d1 = Project(flat1, w, b, l2);
            var d2 = Project(flat0, w, b, l2);
            var a1 = Norm(d1, l2).clamp_min(1e-8);
            var a2 = Norm(d2, l2).clamp_min(1e-8);
            var alpha = (a1 / (a1 + a2)).clamp(0, options.AlphaMax).unsqueeze(1);
            var next = ((flat1 + options.Eta * d1) * (1 - alpha) + (flat0 + options.Eta * d2) * alpha).clamp_(0, 1).to_type(x0.dtype).reshape(x0.shape);
            using (no_grad())
            {
                var fooled = model.forward(next).argmax(1).ne(y);
                var norm = Norm((next - x0).flatten(1), l2).to_type(ScalarType.Float64);
                var improved = fooled.logical_and(norm.lt(best));
                best.copy_(where(improved, norm, best));
                adversarial.copy_(where(improved.reshape(shape), next, adversarial));
                // Adversarial iterates step back toward the image.
                x1.copy_(where(fooled.reshape(shape), x0 + (next - x0) * options.Beta, next));
            }
            progress?.Invoke(it + 1);
        }
        x1.Dispose();
        flat0.Dispose();
        return (best, adversarial);
    }

    /// <summary>
    /// The logit differences f_k − f_y [N,K] at <paramref name="x"/> and their input gradients [N,K,D]:
    /// untargeted K = classes (f_y − f_y is set to +infinity so the label's own "boundary" is never the nearest),
    /// targeted K = 1 (the target class).
    /// </summary>
    static (Tensor Differences, Tensor Gradients) Linearise(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, Tensor? target)
    {
        long n = x.shape[0];
        using var _ = enable_grad();
        var input = x.detach().clone().requires_grad_(true);
        var logits = model.forward(input);
        var index = y.unsqueeze(1);
        if (target is not null)
        {
            var difference = logits.gather(1, target.unsqueeze(1)).squeeze(1) - logits.gather(1, index).squeeze(1);
            var gradient = autograd.grad([difference.sum()], [input])[0];
            return (difference.detach().unsqueeze(1), gradient.flatten(1).unsqueeze(1));
        }
        long classes = logits.shape[1];
        var gradients = new Tensor[classes];
        for (long k = 0; k < classes; k++)
            gradients[k] = autograd.grad([logits[.., k].sum()], [input], retain_graph: k < classes - 1)[0].flatten(1);
        var all = stack(gradients, 1);                                    // [N,classes,D]
        var own = all.gather(1, index.unsqueeze(2).expand(n, 1, all.shape[2]));
        var values = logits.detach();
        var df = values - values.gather(1, index);
        df = df.scatter(1, index, full_like(df[.., ..1], double.PositiveInfinity));
        return (df, all - own);
    }

    /// <summary>
    /// The smallest perturbation d [N,D] (L2 or L-inf) with w·(t + d) = b and t + d in [0,1], per row
    /// (float64 in, float64 out); where the hyperplane cannot be reached inside the box, the box's corner
    /// that comes closest. Moving coordinate i against the side of the hyperplane t is on can change it
    /// by at most cap_i (to 0 or to 1). The solution is d_i = −s_i·min(λ, r_i) with (L2) s_i = w_i and
    /// r_i = cap_i/|w_i|, or (L-inf) s_i = sign(w_i) and r_i = cap_i, where λ solves the piecewise linear,
    /// monotone equation Σ_i v_i·min(λ, r_i) = |w·t − b| (v_i = w_i² or |w_i|), found exactly by sorting
    /// the breakpoints r_i.
    /// </summary>
    internal static Tensor Project(Tensor t, Tensor w, Tensor b, bool l2)
    {
        using var scope = NewDisposeScope();
        var c = (w * t).sum(1) - b;
        var side = where(c.ge(0), ones_like(c), ones_like(c).neg());
        var ws = w * side.unsqueeze(1);                      // now w·d must equal −c with c ≥ 0
        c = c.abs();
        var zero = ws.eq(0);
        var cap = where(ws.gt(0), t, 1 - t).clamp_min(0).masked_fill(zero, 0);
        var magnitude = ws.abs();
        var v = l2 ? ws.square() : magnitude;
        var r = l2 ? (cap / magnitude.masked_fill(zero, 1)).masked_fill(zero, 0) : cap;
        var (rs, order) = r.sort(1);
        var vs = v.gather(1, order);
        var weighted = (vs * rs).cumsum(1);
        var mass = vs.cumsum(1);
        var all = mass.narrow(1, t.shape[1] - 1, 1);
        var reached = weighted + rs * (all - mass);           // Σ v·min(λ, r) at λ = each breakpoint
        var below = reached.lt(c.unsqueeze(1)).sum(1, keepdim: true); // breakpoints left of λ
        long dims = t.shape[1];
        var feasible = below.lt(dims);
        var last = (below - 1).clamp(0, dims - 1);
        var any = below.gt(0);
        var a = where(any, weighted.gather(1, last), zeros_like(c).unsqueeze(1));
        var s = where(any, mass.gather(1, last), zeros_like(c).unsqueeze(1));
        var lambda = ((c.unsqueeze(1) - a) / (all - s).clamp_min(1e-300)).clamp_min(0);
        lambda = where(feasible, lambda, full_like(lambda, double.PositiveInfinity));
        var step = minimum(r, lambda);
        var d = l2 ? -ws * step : -ws.sign() * step;
        return d.MoveToOuterDisposeScope();
    }

    static Tensor Norm(Tensor flat, bool l2) => l2 ? flat.norm(1, p: 2) : flat.abs().amax(1);

    static long[] BroadcastShape(Tensor t)
    {
        var shape = new long[t.dim()];
        Array.Fill(shape, 1L);
        shape[0] = t.shape[0];
        return shape;
    }
}

/// <summary>Untargeted FAB (<see cref="Fab.Run"/>) as an <see cref="IAttack"/>: "fab"; its result carries <see cref="AttackResult.MinimumNorm"/>.</summary>
/// <param name="options">FAB settings; null: the reference's defaults (<see cref="FabOptions"/>). Seed, example ids and progress come from each call.</param>
public sealed class FabAttack(FabOptions? options = null) : IAttack
{
    readonly FabOptions options = options ?? new FabOptions();

    /// <inheritdoc/>
    public string Name => "fab";
    /// <inheritdoc/>
    public string Budget => $"{options.Iterations} iterations, {options.Restarts} restart{(options.Restarts == 1 ? "" : "s")}";
    /// <inheritdoc/>
    public bool GradientFree => false;
    /// <inheritdoc/>
    public int MinimumClasses => 2;

    /// <inheritdoc/>
    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Fab.Run(model, images, labels, threat, run, options);
}

/// <summary>FAB-T (<see cref="Fab.RunTargeted"/>) as an <see cref="IAttack"/>: "fab-t", toward the top other classes in turn (at most classes − 1).</summary>
/// <param name="options">FAB settings; null: the reference's defaults (<see cref="FabOptions"/>: 9 target classes, 1 restart). Seed, example ids and progress come from each call.</param>
public sealed class FabTargetedAttack(FabOptions? options = null) : IAttack
{
    readonly FabOptions options = options ?? new FabOptions();

    /// <inheritdoc/>
    public string Name => "fab-t";
    /// <inheritdoc/>
    public string Budget => $"up to {options.TargetClasses} target classes × {options.Iterations} iterations" + (options.Restarts == 1 ? "" : $" × {options.Restarts} restarts");
    /// <inheritdoc/>
    public bool GradientFree => false;
    /// <inheritdoc/>
    public int MinimumClasses => 2;

    /// <inheritdoc/>
    public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run) =>
        Fab.RunTargeted(model, images, labels, threat, run, options);
}
