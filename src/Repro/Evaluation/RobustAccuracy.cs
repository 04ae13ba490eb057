using System.Diagnostics;
using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Evaluation;

/// <summary>What a robustness evaluation runs: the threat model's norm and radii, the attacks, the seed, and the sanity checks' sample sizes.</summary>
public sealed record RobustnessSettings
{
    /// <summary>"l2" or "linf".</summary>
    public required string Norm { get; init; }
    /// <summary>Radii to evaluate, each > 0 (in [0,1] pixel units).</summary>
    public required IReadOnlyList<double> Eps { get; init; }
    /// <summary>The attacks to run; gradient attacks run before gradient-free ones, otherwise in this order.</summary>
    public required IReadOnlyList<IAttack> Attacks { get; init; }
    /// <summary>Seed that, with each example's id, keys every random number of the attacks.</summary>
    public long Seed { get; init; }
    /// <summary>Examples per attack call (memory only: every example is attacked independently).</summary>
    public int BatchSize { get; init; } = 250;
    /// <summary>Examples (the first ones) for the output, gradient and randomness checks.</summary>
    public int SanityExamples { get; init; } = 100;
    /// <summary>Correctly classified examples (the first ones) for the unbounded-attack check; 0 skips it.</summary>
    public int UnboundedExamples { get; init; } = 100;
    /// <summary>The precision the attacks' searches run the model in; every adversarial example is confirmed in float32 (<see cref="AttackPrecision"/>). Default float32.</summary>
    public AttackPrecision Precision { get; init; } = AttackPrecision.Float32;
    /// <summary>
    /// Screen then confirm: with a low <see cref="Precision"/>, each attack first runs in it, and the
    /// examples it did not fool (float32-confirmed) are attacked again in float32 with the same
    /// per-example randomness. Its fooled set contains the float32-only run's, so it is never weaker.
    /// </summary>
    public bool ScreenThenConfirm { get; init; }

    /// <summary>The ball of radius <paramref name="eps"/> for <see cref="Norm"/>: <see cref="L2Ball"/> or <see cref="LinfBall"/>.</summary>
    /// <exception cref="ReproInputException"><see cref="Norm"/> is neither "l2" nor "linf".</exception>
    public ThreatModel Threat(double eps) => Norm switch
    {
        "l2" => new L2Ball(eps),
        "linf" => new LinfBall(eps),
        _ => throw new ReproInputException($"norm must be l2 or linf, got '{Norm}'"),
    };
}

/// <summary>
/// Robust accuracy the way AutoAttack reports it (Croce and Hein, ICML 2020): per example and eps,
/// correct under every attack of the list (the worst case). Attacks run in order, gradient attacks
/// before gradient-free ones, each only on the examples every earlier attack left correct (misclassified
/// clean examples are never attacked); the robust accuracy after each attack and the final one are
/// reported. Every adversarial example is checked independently of the attack: a fresh forward pass
/// decides whether it fools the model, and it must lie in the ball and the box (else this throws — an
/// attack bug must never pass for robustness). The sanity flags (<see cref="SanityChecks"/>) are measured
/// alongside. The model is used in the mode it is in (evaluate in eval mode). Claims and
/// <c>repro robustness</c> both call this.
/// </summary>
public static class RobustAccuracy
{
    /// <summary>
    /// Runs the attacks at every eps of <paramref name="settings"/> and returns the cumulative robust
    /// accuracy per attack, the worst case per eps and the sanity flags.
    /// </summary>
    /// <param name="modelName">The model's name, for the log and the result.</param>
    /// <param name="model">The classifier: [N,C,H,W] images in [0,1] to logits [N,classes].</param>
    /// <param name="images">[N,C,H,W] in [0,1].</param>
    /// <param name="labels">int64 [N].</param>
    /// <param name="ids">One id per example (dataset index, or a hash of the file name): with the seed they key every random number.</param>
    /// <param name="progress">(what, done, total) for a progress bar.</param>
    /// <param name="settings">Norm, eps, attacks, seed, batch size and sanity-check sizes.</param>
    /// <param name="log">Receives one line per attack stage and the flags; null for none.</param>
    /// <exception cref="ReproInputException">No images, invalid eps or norm, no attacks, an attack listed twice, or an attack needing more classes than the model has.</exception>
    /// <exception cref="ArgumentException">The number of ids differs from the number of images.</exception>
    /// <exception cref="InvalidOperationException">An attack returned an example outside the ball or [0,1] (an attack bug).</exception>
    public static RobustnessResult Evaluate(string modelName, nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> ids,
        RobustnessSettings settings, TextWriter? log = null, Action<string, long, long>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        long n = images.shape[0];
        if (n == 0) throw new ReproInputException("robustness evaluation: no images");
        if (ids.Count != n) throw new ArgumentException($"{ids.Count} example ids for {n} images");
        if (settings.Eps.Count == 0 || settings.Eps.Any(e => !(e > 0) || double.IsInfinity(e))) throw new ReproInputException($"eps must be a list of numbers > 0, got [{string.Join(", ", settings.Eps)}]");
        if (settings.Attacks.Count == 0) throw new ReproInputException("robustness evaluation: no attacks");
        var attacks = settings.Attacks.Where(a => !a.GradientFree).Concat(settings.Attacks.Where(a => a.GradientFree)).ToList();
        if (attacks.Select(a => a.Name).Distinct().Count() != attacks.Count) throw new ReproInputException($"an attack is listed twice: {string.Join(", ", attacks.Select(a => a.Name))}");
        settings.Threat(1); // validates the norm

        var clean = Predict(model, images, settings.BatchSize);
        var correct = clean.eq(labels.to(clean.device)).cpu();
        long classes;
        using (no_grad()) using (var one = model.forward(images.narrow(0, 0, 1))) classes = one.shape[1];
        foreach (var attack in attacks)
            if (classes < attack.MinimumClasses)
                throw new ReproInputException($"{attack.Name} needs a model with >= {attack.MinimumClasses} classes, this one has {classes}" +
                    (classes == 2 ? ": the DLR losses are undefined for two classes — use apgd-margin (the logit margin) instead" : ": use apgd-ce or apgd-dlr"));
        bool[] correctArray = correct.data<bool>().ToArray();
        double cleanAccuracy = correctArray.Count(c => c) / (double)n;
        log?.WriteLine($"robustness of {modelName}: {n} images, clean accuracy {Percent.Of(cleanAccuracy)}, {settings.Norm}, eps {string.Join(", ", settings.Eps)}, attacks {string.Join(" -> ", attacks.Select(a => $"{a.Name} ({a.Budget})"))}, seed {settings.Seed}");

        var flags = ModelFlags(model, images, labels, correct, settings);
        foreach (var f in flags) log?.WriteLine($"  {f}");

        var perEps = new List<EpsResult>();
        foreach (double eps in settings.Eps)
        {
            var threat = settings.Threat(eps);
            var robust = (bool[])correctArray.Clone();
            var stages = new List<AttackStage>();
            foreach (var attack in attacks)
            {
                var watch = Stopwatch.StartNew();
                var rows = Enumerable.Range(0, (int)n).Where(i => robust[i]).ToArray();
                long fooled = 0;
                for (int start = 0; start < rows.Length; start += settings.BatchSize)
                {
                    var chunk = rows.Skip(start).Take(settings.BatchSize).ToArray();
                    int offset = start;
                    var isFooled = Screened(model, images, labels, ids, chunk, attack, threat, settings,
                        progress is null ? null : (d, t) => progress($"{attack.Name} eps {eps:G4}", offset + (long)(chunk.Length * (double)d / Math.Max(1, t)), rows.Length));
                    for (int k = 0; k < chunk.Length; k++)
                        if (isFooled[k]) { robust[chunk[k]] = false; fooled++; }
                }
                var stage = new AttackStage(attack.Name, robust.Count(r => r) / (double)n, fooled, rows.Length, watch.Elapsed);
                stages.Add(stage);
                log?.WriteLine($"  eps {eps:G4}: after {attack.Name}: robust accuracy {Percent.Of(stage.RobustAccuracy)} ({fooled} of {rows.Length} attacked fooled, {watch.Elapsed.TotalSeconds:F0} s)");
                log?.Flush();
            }
            var flag = SanityChecks.GradientFreeWins(stages, attacks.Select(a => a.GradientFree).ToList(), n);
            if (flag.Fired) log?.WriteLine($"  eps {eps:G4}: {flag}");
            perEps.Add(new EpsResult(eps, stages, robust.Count(r => r) / (double)n, robust.Count(r => r), [flag]) { RobustPerExample = robust });
        }
        flags.Add(SanityChecks.AccuracyFallsWithEps(perEps.Select(e => (e.Eps, e.Robust)).ToList(), n));
        correct.Dispose();
        clean.Dispose();
        return new RobustnessResult
        {
            Model = modelName, Norm = settings.Norm, Examples = n, CleanAccuracy = cleanAccuracy, PerEps = perEps, Flags = flags,
            Attacks = attacks.Select(a => (a.Name, a.Budget)).ToList(), Seed = settings.Seed, Elapsed = clock.Elapsed,
        };
    }

    /// <summary>
    /// <see cref="Attack"/> in <see cref="RobustnessSettings.Precision"/>; with <see cref="RobustnessSettings.ScreenThenConfirm"/>
    /// the rows it did not fool are attacked again in float32 (same seed and example ids, so the same random numbers).
    /// </summary>
    static bool[] Screened(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> ids, int[] chunk, IAttack attack,
        ThreatModel threat, RobustnessSettings settings, Action<long, long>? progress)
    {
        var fooled = Attack(model, images, labels, ids, chunk, attack, threat, settings.Seed, settings.Precision, progress);
        if (!settings.ScreenThenConfirm || settings.Precision == AttackPrecision.Float32) return fooled;
        var survivors = Enumerable.Range(0, chunk.Length).Where(k => !fooled[k]).ToArray();
        if (survivors.Length == 0) return fooled;
        var confirmed = Attack(model, images, labels, ids, survivors.Select(k => chunk[k]).ToArray(), attack, threat, settings.Seed, AttackPrecision.Float32, progress);
        for (int j = 0; j < survivors.Length; j++) fooled[survivors[j]] = confirmed[j];
        return fooled;
    }

    /// <summary>
    /// Runs one attack on rows <paramref name="chunk"/> and says, per row, whether its adversarial
    /// example fools the model — decided by a fresh forward pass, after checking it is in the ball and the box.
    /// </summary>
    static bool[] Attack(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> ids, int[] chunk, IAttack attack,
        ThreatModel threat, long seed, AttackPrecision precision, Action<long, long>? progress)
    {
        using var scope = NewDisposeScope();
        var index = tensor(chunk.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: images.device);
        var x = images.index_select(0, index);
        var y = labels.index_select(0, index.to(labels.device));
        using var result = attack.Run(model, x, y, threat, new AttackRun(seed, chunk.Select(i => ids[i]).ToArray(), progress, precision));
        using var _ = no_grad();
        var distance = threat.Distance(x, result.Adversarial);
        double tolerance = threat.Eps * 1e-4 + 1e-6;
        double worst = distance.max().item<float>(), low = result.Adversarial.min().item<float>(), high = result.Adversarial.max().item<float>();
        if (worst > threat.Eps + tolerance || low < 0 || high > 1)
            throw new InvalidOperationException($"{attack.Name} returned an example outside {threat} ∩ [0,1] (distance {worst}, pixels in [{low}, {high}]): an attack bug");
        var fooled = model.forward(result.Adversarial).argmax(1).ne(y.to(result.Adversarial.device));
        return fooled.cpu().data<bool>().ToArray();
    }

    static List<SanityFlag> ModelFlags(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Tensor correct, RobustnessSettings settings)
    {
        long m = Math.Min(settings.SanityExamples, images.shape[0]);
        var sample = images.narrow(0, 0, m);
        var flags = new List<SanityFlag>
        {
            SanityChecks.Probabilities(model, sample),
            SanityChecks.ZeroGradients(model, sample, labels.narrow(0, 0, m)),
            SanityChecks.Randomness(model, sample),
        };
        if (settings.UnboundedExamples > 0)
        {
            using var scope = NewDisposeScope();
            var rows = nonzero(correct).flatten().to(images.device);
            if (rows.shape[0] > 0)
                flags.Add(SanityChecks.Unbounded(model, images.index_select(0, rows), labels.index_select(0, rows.to(labels.device)), settings.Norm == "l2", settings.Seed, settings.UnboundedExamples));
        }
        return flags;
    }

    static Tensor Predict(nn.Module<Tensor, Tensor> model, Tensor images, int batchSize)
    {
        using var _ = no_grad();
        var parts = new List<Tensor>();
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            using var scope = NewDisposeScope();
            parts.Add(model.forward(images.narrow(0, start, Math.Min(batchSize, images.shape[0] - start))).argmax(1).MoveToOuterDisposeScope());
        }
        var all = cat(parts);
        foreach (var p in parts) p.Dispose();
        return all;
    }
}
