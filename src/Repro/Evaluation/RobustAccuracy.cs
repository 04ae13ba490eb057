using System.Diagnostics;
using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Evaluation;

/// <summary>What a robustness evaluation runs: the threat model's norm and radii, the attacks, the seed, and the sanity checks' sample sizes.</summary>
public sealed record RobustnessSettings
{
    /// <summary>The norm of the threat model's balls (one per radius of <see cref="Eps"/>).</summary>
    public required Norm Norm { get; init; }
    /// <summary>Radii to evaluate, each > 0 (in [0,1] pixel units).</summary>
    public required IReadOnlyList<double> Eps { get; init; }
    /// <summary>The attacks to run; gradient attacks run before gradient-free ones, otherwise in this order.</summary>
    public required IReadOnlyList<IAttack> Attacks { get; init; }
    /// <summary>Seed that, with each example's id, keys every random number of the attacks.</summary>
    public long Seed { get; init; }
    /// <summary>Examples per attack call (memory only: every example is attacked independently).</summary>
    public int BatchSize { get; init; } = 250;
    /// <summary>The sanity sample: the examples at the first this many positions of the listing get the output, gradient and randomness probes.</summary>
    public int SanityExamples { get; init; } = 100;
    /// <summary>The correctly classified examples among the first this many positions (at most <see cref="SanityExamples"/>) get the unbounded attack; 0 skips it.</summary>
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
    public ThreatModel Threat(double eps) => Norm.Ball(eps);
}

/// <summary>
/// Robust accuracy the way AutoAttack reports it (Croce and Hein, ICML 2020): per example and eps,
/// correct under every attack of the list (the worst case). Attacks run in order, gradient attacks
/// before gradient-free ones, each only on the examples every earlier attack left correct (misclassified
/// clean examples are never attacked). The eps run in increasing order, and an example fooled within a
/// smaller ball is fooled within every larger one (its adversarial image lies inside): it is recorded as
/// fooled there without being attacked again. Every adversarial example is checked independently of the
/// attack: a fresh forward pass decides whether it fools the model, and it must lie in the ball and the
/// box (else this throws — an attack bug must never pass for robustness).
///
/// The result is one <see cref="RobustnessRecord"/> per example, eps and stage; the table, the flags
/// and the plot are computed from them (<see cref="RobustnessSummary"/>). Nothing an example computes
/// depends on the other examples: which attacks run on it depends on its own outcomes, its random
/// numbers on the seed and its id, and the sanity sample on its position in the listing — so any
/// split of the examples into batches or shards gives the same records (bit for bit where the model's
/// kernels are batch-invariant, as the CPU kernels measured here are). The model is used in the mode
/// it is in (evaluate in eval mode). Claims and <c>repro robustness</c> both call this.
/// </summary>
public static class RobustAccuracy
{
    /// <summary>
    /// Runs the attacks at every eps of <paramref name="settings"/> on all the examples, in batches of
    /// <see cref="RobustnessSettings.BatchSize"/>, and returns the records with the cumulative robust
    /// accuracy per attack, the worst case per eps and the sanity flags computed from them.
    /// </summary>
    /// <param name="modelName">The model's name, for the log and the result.</param>
    /// <param name="model">The classifier: [N,C,H,W] images in [0,1] to logits [N,classes].</param>
    /// <param name="images">[N,C,H,W] in [0,1]; position i is position i of the listing (the sanity sample is the first positions).</param>
    /// <param name="labels">int64 [N].</param>
    /// <param name="ids">One id per example (dataset index, or a hash of the file name): with the seed they key every random number.</param>
    /// <param name="progress">(what, done, total) for a progress bar: examples done after each batch.</param>
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
        if (ids.Count != n) throw new ArgumentException($"{ids.Count} example ids for {n} images", nameof(ids));
        var attacks = Prepare(model, images.narrow(0, 0, 1), settings);
        log?.WriteLine($"robustness of {modelName}: {n} images, {settings.Norm.Name()}, eps {string.Join(", ", SortedEps(settings))}, attacks {string.Join(" -> ", attacks.Select(a => $"{a.Name} ({a.Budget})"))}, seed {settings.Seed}");
        var records = new List<RobustnessRecord>();
        // The batch is the evaluation's unit of records (and, in the robustness job, of checkpoint and
        // resume), not an attack loop: within it each attack runs once per stage on the batch's
        // survivors, and per-example randomness keeps every record independent of the batch size.
        for (long start = 0; start < n; start += settings.BatchSize)
        {
            long count = Math.Min(settings.BatchSize, n - start);
            var positions = Enumerable.Range(0, (int)count).Select(i => start + i).ToArray();
            records.AddRange(EvaluateBatch(model, images.narrow(0, start, count), labels.narrow(0, start, count), [.. ids.Skip((int)start).Take((int)count)],
                positions.Select(p => ids[(int)p].ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), positions, settings, attacks));
            progress?.Invoke("robustness", start + count, n);
        }
        var result = RobustnessSummary.FromRecords(modelName, settings.Norm, attacks.Select(a => new AttackInfo(a.Name, a.Budget, a.GradientFree)).ToList(), settings.Seed, records, clock.Elapsed);
        if (log is not null)
        {
            log.WriteLine($"  clean accuracy {Percent.Of(result.CleanAccuracy)}");
            foreach (var f in result.Flags) log.WriteLine($"  {f}");
            foreach (var e in result.PerEps)
            {
                foreach (var stage in e.Stages)
                    log.WriteLine($"  eps {e.Eps:G4}: after {stage.Attack}: robust accuracy {Percent.Of(stage.RobustAccuracy)} ({stage.NewlyFooled} of {stage.Attacked} attacked fooled, {stage.Elapsed.TotalSeconds:F0} s)");
                foreach (var f in e.Flags.Where(f => f.Fired)) log.WriteLine($"  eps {e.Eps:G4}: {f}");
            }
            log.Flush();
        }
        return result;
    }

    /// <summary>The eps of <paramref name="settings"/> in the order they run: increasing.</summary>
    public static IReadOnlyList<double> SortedEps(RobustnessSettings settings) => [.. settings.Eps.Order()];

    /// <summary>
    /// Checks the settings against the model (one forward pass of <paramref name="oneImage"/>) and
    /// returns the attacks in the order they run: gradient attacks first, then gradient-free ones.
    /// </summary>
    /// <exception cref="ReproInputException">Invalid eps (not > 0, infinite, repeated) or norm, no attacks, an attack listed twice, or one needing more classes than the model has.</exception>
    public static IReadOnlyList<IAttack> Prepare(nn.Module<Tensor, Tensor> model, Tensor oneImage, RobustnessSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Eps.Count == 0 || settings.Eps.Any(e => !(e > 0) || double.IsInfinity(e))) throw new ReproInputException($"eps must be a list of numbers > 0, got [{string.Join(", ", settings.Eps)}]");
        if (settings.Eps.Distinct().Count() != settings.Eps.Count) throw new ReproInputException($"eps lists a radius twice: [{string.Join(", ", settings.Eps)}]");
        if (settings.Attacks.Count == 0) throw new ReproInputException("robustness evaluation: no attacks");
        if (settings.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(settings), $"{nameof(RobustnessSettings.BatchSize)} must be >= 1, got {settings.BatchSize}");
        var attacks = settings.Attacks.Where(a => !a.GradientFree).Concat(settings.Attacks.Where(a => a.GradientFree)).ToList();
        if (attacks.Select(a => a.Name).Distinct().Count() != attacks.Count) throw new ReproInputException($"an attack is listed twice: {string.Join(", ", attacks.Select(a => a.Name))}");
        settings.Threat(1); // validates the norm
        long classes;
        using (no_grad()) using (var one = model.forward(oneImage)) classes = one.shape[1];
        foreach (var attack in attacks)
            if (classes < attack.MinimumClasses)
                throw new ReproInputException($"{attack.Name} needs a model with >= {attack.MinimumClasses} classes, this one has {classes}" +
                    (classes == 2 ? ": the DLR losses are undefined for two classes — use apgd-margin (the logit margin) instead" : ": use apgd-ce or apgd-dlr"));
        return attacks;
    }

    /// <summary>
    /// Evaluates one batch of examples: their records for every eps (increasing) and attack stage, in
    /// that order per example. The records of an example do not depend on the other examples of the batch.
    /// </summary>
    /// <param name="model">The classifier: [N,C,H,W] images in [0,1] to logits [N,classes].</param>
    /// <param name="images">The batch, [B,C,H,W] in [0,1].</param>
    /// <param name="labels">int64 [B].</param>
    /// <param name="ids">The examples' ids (B).</param>
    /// <param name="sources">Where each came from (B), copied into the records.</param>
    /// <param name="positions">Each example's position in the whole listing (B): positions below <see cref="RobustnessSettings.SanityExamples"/> are probed.</param>
    /// <param name="settings">The evaluation's settings.</param>
    /// <param name="attacks">The attacks in the order they run (<see cref="Prepare"/>).</param>
    /// <exception cref="InvalidOperationException">An attack returned an example outside the ball or [0,1] (an attack bug).</exception>
    public static List<RobustnessRecord> EvaluateBatch(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> ids, IReadOnlyList<string> sources,
        IReadOnlyList<long> positions, RobustnessSettings settings, IReadOnlyList<IAttack> attacks)
    {
        int n = ids.Count;
        if (images.shape[0] != n || labels.shape[0] != n || sources.Count != n || positions.Count != n)
            throw new ArgumentException($"a batch of {images.shape[0]} images with {labels.shape[0]} labels, {n} ids, {sources.Count} sources and {positions.Count} positions");
        using var scope = NewDisposeScope();
        int[] label = labels.cpu().to_type(ScalarType.Int64).data<long>().Select(v => (int)v).ToArray();
        int[] cleanPrediction;
        float[] cleanMargin;
        using (no_grad())
        {
            var logits = model.forward(images);
            cleanPrediction = Argmax(logits);
            cleanMargin = Margins(logits, labels);
        }
        var probes = Probe(model, images, labels, positions, cleanPrediction, label, settings);

        var fooledBy = new string?[n];
        var fooledAt = new double?[n];
        var prediction = (int[])cleanPrediction.Clone();
        var l2 = new float[n];
        var linf = new float[n];
        var margin = (float[])cleanMargin.Clone();
        for (int i = 0; i < n; i++)
            if (cleanPrediction[i] != label[i]) (fooledBy[i], fooledAt[i]) = ("clean", 0);

        var rows = new List<RobustnessRecord>[n];
        for (int i = 0; i < n; i++) rows[i] = [];
        foreach (double eps in SortedEps(settings))
        {
            var threat = settings.Threat(eps);
            for (int stage = 0; stage < attacks.Count; stage++)
            {
                var attack = attacks[stage];
                var survivors = Enumerable.Range(0, n).Where(i => fooledBy[i] is null).ToArray();
                var seconds = new double[n];
                var attacked = new bool[n];
                if (survivors.Length > 0)
                {
                    var watch = Stopwatch.StartNew();
                    var outcome = Screened(model, images, labels, ids, survivors, attack, threat, settings);
                    double share = watch.Elapsed.TotalSeconds / survivors.Length;
                    for (int k = 0; k < survivors.Length; k++)
                    {
                        int i = survivors[k];
                        (attacked[i], seconds[i], prediction[i], l2[i], linf[i], margin[i]) = (true, share, outcome.Prediction[k], outcome.L2[k], outcome.Linf[k], outcome.Margin[k]);
                        if (outcome.Fooled[k]) (fooledBy[i], fooledAt[i]) = (attack.Name, eps);
                    }
                }
                for (int i = 0; i < n; i++)
                    rows[i].Add(new RobustnessRecord
                    {
                        ExampleId = ids[i], Source = sources[i], Label = label[i], Eps = eps, Stage = stage, Attack = attack.Name,
                        CleanPrediction = cleanPrediction[i], AdversarialPrediction = prediction[i], Attacked = attacked[i], Success = fooledBy[i] is not null,
                        FirstFooledBy = fooledBy[i], FooledAtEps = fooledAt[i], L2 = l2[i], Linf = linf[i], Margin = margin[i], Seconds = seconds[i],
                        ProbeOutputMin = probes[i].OutputMin, ProbeOutputMax = probes[i].OutputMax, ProbeSumError = probes[i].SumError,
                        ProbeZeroGradient = probes[i].ZeroGradient, ProbeOutputChange = probes[i].OutputChange, ProbePredictionChanged = probes[i].PredictionChanged,
                        UnboundedFooled = probes[i].UnboundedFooled,
                    });
            }
        }
        return [.. rows.SelectMany(r => r)];
    }

    sealed record ProbeValues(float? OutputMin, float? OutputMax, float? SumError, bool? ZeroGradient, float? OutputChange, bool? PredictionChanged, bool? UnboundedFooled);

    /// <summary>The sanity probes of the batch's examples in the sanity sample (null for the others).</summary>
    static ProbeValues[] Probe(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> positions, int[] cleanPrediction, int[] label, RobustnessSettings settings)
    {
        int n = positions.Count;
        var probes = Enumerable.Repeat(new ProbeValues(null, null, null, null, null, null, null), n).ToArray();
        var sample = Enumerable.Range(0, n).Where(i => positions[i] < settings.SanityExamples).ToArray();
        if (sample.Length == 0) return probes;
        using var scope = NewDisposeScope();
        var index = tensor(sample.Select(i => (long)i).ToArray(), device: images.device);
        var x = images.index_select(0, index);
        var y = labels.index_select(0, index.to(labels.device));
        float[] min, max, sumError;
        using (no_grad())
        {
            var output = model.forward(x);
            min = output.amin(1).cpu().data<float>().ToArray();
            max = output.amax(1).cpu().data<float>().ToArray();
            sumError = (output.sum(1) - 1).abs().cpu().data<float>().ToArray();
        }
        var zero = SanityChecks.ZeroGradientPerExample(model, x, y);
        var (change, changed) = SanityChecks.RandomnessPerExample(model, x);
        var unboundedRows = Enumerable.Range(0, sample.Length)
            .Where(k => positions[sample[k]] < Math.Min(settings.UnboundedExamples, settings.SanityExamples) && cleanPrediction[sample[k]] == label[sample[k]]).ToArray();
        var unbounded = new bool?[sample.Length];
        if (unboundedRows.Length > 0)
        {
            var u = tensor(unboundedRows.Select(k => (long)k).ToArray(), device: x.device);
            var fooled = SanityChecks.UnboundedFooledPerExample(model, x.index_select(0, u), y.index_select(0, u.to(y.device)), settings.Norm, settings.Seed);
            for (int j = 0; j < unboundedRows.Length; j++) unbounded[unboundedRows[j]] = fooled[j];
        }
        for (int k = 0; k < sample.Length; k++)
            probes[sample[k]] = new ProbeValues(min[k], max[k], sumError[k], zero[k], change[k], changed[k], unbounded[k]);
        return probes;
    }

    sealed record Outcome(bool[] Fooled, int[] Prediction, float[] L2, float[] Linf, float[] Margin);

    /// <summary>
    /// <see cref="Attack"/> in <see cref="RobustnessSettings.Precision"/>; with <see cref="RobustnessSettings.ScreenThenConfirm"/>
    /// the rows it did not fool are attacked again in float32 (same seed and example ids, so the same random numbers).
    /// </summary>
    static Outcome Screened(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> ids, int[] chunk, IAttack attack,
        ThreatModel threat, RobustnessSettings settings)
    {
        var first = Attack(model, images, labels, ids, chunk, attack, threat, settings.Seed, settings.Precision);
        if (!settings.ScreenThenConfirm || settings.Precision == AttackPrecision.Float32) return first;
        var left = Enumerable.Range(0, chunk.Length).Where(k => !first.Fooled[k]).ToArray();
        if (left.Length == 0) return first;
        var again = Attack(model, images, labels, ids, left.Select(k => chunk[k]).ToArray(), attack, threat, settings.Seed, AttackPrecision.Float32);
        for (int j = 0; j < left.Length; j++)
        {
            int k = left[j];
            (first.Fooled[k], first.Prediction[k], first.L2[k], first.Linf[k], first.Margin[k]) = (again.Fooled[j], again.Prediction[j], again.L2[j], again.Linf[j], again.Margin[j]);
        }
        return first;
    }

    /// <summary>
    /// Runs one attack on rows <paramref name="chunk"/> and says, per row, whether its adversarial
    /// example fools the model — decided by a fresh forward pass, after checking it is in the ball and
    /// the box — with the prediction, the perturbation's norms and the margin there.
    /// </summary>
    static Outcome Attack(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<long> ids, int[] chunk, IAttack attack, ThreatModel threat, long seed,
        AttackPrecision precision)
    {
        using var scope = NewDisposeScope();
        var index = tensor(chunk.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: images.device);
        var x = images.index_select(0, index);
        var y = labels.index_select(0, index.to(labels.device));
        using var result = attack.Run(model, x, y, threat, new AttackRun(seed, chunk.Select(i => ids[i]).ToArray(), null, precision));
        // Every figure below is measured again in float32 (the model is back in float32 once the attack returns).
        using var _ = no_grad();
        var distance = threat.Distance(x, result.Adversarial);
        double tolerance = threat.Eps * 1e-4 + 1e-6;
        double worst = distance.max().item<float>(), low = result.Adversarial.min().item<float>(), high = result.Adversarial.max().item<float>();
        if (worst > threat.Eps + tolerance || low < 0 || high > 1)
            throw new InvalidOperationException($"{attack.Name} returned an example outside {threat} ∩ [0,1] (distance {worst}, pixels in [{low}, {high}]): an attack bug");
        var logits = model.forward(result.Adversarial);
        var yDevice = y.to(logits.device);
        var delta = (result.Adversarial - x).flatten(1);
        return new Outcome(logits.argmax(1).ne(yDevice).cpu().data<bool>().ToArray(), Argmax(logits),
            delta.norm(1, p: 2).cpu().data<float>().ToArray(), delta.abs().amax(1).cpu().data<float>().ToArray(), Margins(logits, yDevice));
    }

    static int[] Argmax(Tensor logits) => logits.argmax(1).cpu().data<long>().Select(v => (int)v).ToArray();

    /// <summary>Per row: the label's logit minus the largest other logit.</summary>
    static float[] Margins(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var y = labels.to(logits.device).to_type(ScalarType.Int64).unsqueeze(1);
        var own = logits.gather(1, y).squeeze(1);
        var others = logits.scatter(1, y, full_like(own.unsqueeze(1), float.NegativeInfinity)).amax(1);
        return (own - others).cpu().data<float>().ToArray();
    }
}
