using System.Diagnostics;
using Repro.Attacks;
using Repro.Explain;
using Repro.Runtime;
using TorchSharp;
using static Repro.Bench.BenchFigure;
using static TorchSharp.torch;

namespace Repro.Bench;

/// <summary>One benchmark figure, its target, and whether it meets it.</summary>
internal sealed record BenchFigure(string Name, double Value, string Unit, string Target, bool Meets)
{
    /// <summary>The median every bench figure takes over its rounds (of an even count, the upper middle value).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}

/// <summary>
/// How close the engine comes to the model's own cost, as ratios measured in one run (ResNet18,
/// batch 8, 224x224 on CPU by default): a PGD step against one bare forward + input-backward (the
/// floor no first-order attack can beat); SmoothGrad throughput against bare forward+backward
/// throughput; resident memory growth between 50 and 500 PGD steps (a native leak shows here);
/// and the effect of freezing parameters and of the glibc malloc settings. The model and the
/// batch live on <c>device</c> (CPU unless given); on CUDA every timing waits for the GPU.
/// <paramref name="eachRound"/> runs after each round with that round's bare pass and PGD step in seconds
/// (the oneDNN comparison times its child processes there, so that both sides see the same load).
/// </summary>
internal sealed class AttackBenchmark(nn.Module<Tensor, Tensor> model, int batch = 8, int side = 224, int repeats = 3, int rounds = 5, int leakSteps = 500, TextWriter? log = null, Device? device = null, Action<double, double>? eachRound = null)
{
    readonly Device device = device ?? CPU;

    /// <summary>The attack the step figures time: the article's 20 steps (also the PyTorch peer's steps).</summary>
    public const int AttackSteps = 20;

    public IReadOnlyList<BenchFigure> Run()
    {
        using var inputs = Inputs();
        var (images, labels) = (inputs.Images, inputs.Labels);
        var figures = new List<BenchFigure>();

        // Without the malloc settings first (they cannot be undone within the process), then with them.
        // (On a GPU the activations live in libtorch's CUDA allocator: the host's malloc settings cannot matter there.)
        bool tunable = GlibcMallocTuning.IsGlibc && !GlibcMallocTuning.Applied && device.type == DeviceType.CPU;
        double pgdUntuned = tunable ? Median(Enumerable.Range(0, 3).Select(_ => PgdStepTime(images, labels).Amortised)) : double.NaN;
        bool tuned = GlibcMallocTuning.Apply();

        // Rounds interleave the measurements so that a busy machine slows each side alike; a
        // figure is the median of its per-round ratios.
        var pgdRatios = new List<double>();
        var attackRatios = new List<double>();
        var smoothRatios = new List<double>();
        var freezeRatios = new List<double>();
        var pgdTimes = new List<double>();
        var bareTimes = new List<double>();
        var stepTimes = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            double bare = Time(() => BareForwardBackward(images, labels, freeze: true));
            double bareAllGradients = Time(() => BareForwardBackward(images, labels, freeze: false));
            var (step, amortised) = PgdStepTime(images, labels);
            double smooth = Time(() => SmoothGradBatch(images, labels));
            log?.WriteLine($"round {round + 1}: bare forward+input-backward {bare * 1000:F1} ms; with weight gradients {bareAllGradients * 1000:F1} ms; " +
                           $"PGD step {step * 1000:F1} ms ({amortised * 1000:F1} ms per step of a whole {AttackSteps}-step attack); SmoothGrad batch of {batch} copies {smooth * 1000:F1} ms");
            pgdRatios.Add(step / bare);
            attackRatios.Add(amortised / bare);
            smoothRatios.Add(bare / smooth);
            freezeRatios.Add(bare / bareAllGradients);
            pgdTimes.Add(amortised);
            bareTimes.Add(bare);
            stepTimes.Add(step);
            eachRound?.Invoke(bare, step);
        }
        double pgd = Median(pgdTimes);

        figures.Add(new("bare forward+input-backward", Median(bareTimes) * 1000, "ms", "(reported)", true));
        figures.Add(new("PGD step (marginal)", Median(stepTimes) * 1000, "ms", "(reported)", true));
        figures.Add(new("PGD step / bare forward+backward", Median(pgdRatios), "x", "<= 1.05", Median(pgdRatios) <= 1.05));
        figures.Add(new($"{AttackSteps}-step attack / {AttackSteps} bare (set-up, final forward)", Median(attackRatios), "x", "(reported)", true));
        figures.Add(new("SmoothGrad throughput / bare throughput", Median(smoothRatios), "x", ">= 0.95", Median(smoothRatios) >= 0.95));
        figures.Add(new("backward with frozen parameters / with weight gradients", Median(freezeRatios), "x", "< 1 (saving)", Median(freezeRatios) < 1));
        if (tunable)
        {
            log?.WriteLine($"PGD step without malloc settings: {pgdUntuned * 1000:F0} ms");
            figures.Add(new("PGD step time, malloc settings on / off", pgd / pgdUntuned, "x", "< 1 (faster)", tuned && pgd < pgdUntuned));
        }

        figures.AddRange(NewAttackFigures(images, labels));

        if (leakSteps > 50)
        {
            PgdSteps(images, labels, 50);
            long raw50 = GlibcMallocTuning.ResidentBytes(), inUse50 = GlibcMallocTuning.ResidentBytesInUse();
            PgdSteps(images, labels, leakSteps - 50);
            long raw = GlibcMallocTuning.ResidentBytes(), inUse = GlibcMallocTuning.ResidentBytesInUse();
            double growthMb = (inUse - inUse50) / 1048576.0;
            figures.Add(new($"RSS in use after {leakSteps} PGD steps - after 50", growthMb, "MB", "< 64", growthMb < 64));
            figures.Add(new("  the same, raw RSS (allocator cache included)", (raw - raw50) / 1048576.0, "MB", "(reported)", true));
        }
        return figures;
    }

    /// <summary>
    /// The precisions compared (issue 23), float32 always among them as the baseline: per round and per
    /// precision, one bare forward + input-backward in that precision (the model converted once, outside
    /// the timing, by <see cref="LowPrecision"/>) and the marginal PGD step of a 20-step attack in it
    /// (the conversion and the float32 confirmation are the attack's fixed cost, not charged to its steps).
    /// Figures: times, each precision's PGD step / its bare pass, and each low precision's bare pass and
    /// PGD step against float32's in the same round (median of per-round ratios; bf16 PGD step target &lt;= 0.6).
    /// <paramref name="afterRound"/> runs after each round with its times per precision, in seconds (the PyTorch peer's turn).
    /// </summary>
    public IReadOnlyList<BenchFigure> RunPrecisions(IReadOnlyList<AttackPrecision> precisions, Action<IReadOnlyDictionary<AttackPrecision, (double Bare, double Step)>>? afterRound = null)
    {
        using var inputs = Inputs();
        var (images, labels) = (inputs.Images, inputs.Labels);
        GlibcMallocTuning.Apply();
        var list = precisions.Prepend(AttackPrecision.Float32).Distinct().ToList();
        var bare = list.ToDictionary(p => p, _ => new List<double>());
        var step = list.ToDictionary(p => p, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            foreach (var p in list)
            {
                using (LowPrecision.Enter([model], p)) bare[p].Add(Time(() => BareForwardBackward(images, labels, freeze: true)));
                step[p].Add(Marginal(steps => PgdSteps(images, labels, steps, p), AttackSteps));
            }
            log?.WriteLine($"round {round + 1}: " + string.Join("; ", list.Select(p => $"{p.ShortName()} bare forward+input-backward {bare[p][round] * 1000:F1} ms, PGD step {step[p][round] * 1000:F1} ms")));
            afterRound?.Invoke(list.ToDictionary(p => p, p => (bare[p][round], step[p][round])));
        }
        var figures = new List<BenchFigure>();
        foreach (var p in list)
        {
            figures.Add(new($"{p.ShortName()}: bare forward+input-backward", Median(bare[p]) * 1000, "ms", "(reported)", true));
            figures.Add(new($"{p.ShortName()}: PGD step (marginal)", Median(step[p]) * 1000, "ms", "(reported)", true));
            double own = Median(step[p].Zip(bare[p], (a, b) => a / b));
            figures.Add(new($"{p.ShortName()}: PGD step / bare forward+backward", own, "x", "<= 1.05", own <= 1.05));
        }
        foreach (var p in list.Where(p => p != AttackPrecision.Float32))
        {
            double bareRatio = Median(bare[p].Zip(bare[AttackPrecision.Float32], (a, b) => a / b));
            double stepRatio = Median(step[p].Zip(step[AttackPrecision.Float32], (a, b) => a / b));
            figures.Add(new($"{p.ShortName()} / fp32: bare forward+input-backward", bareRatio, "x", "(reported)", true));
            bool target = p == AttackPrecision.BFloat16;
            figures.Add(new($"{p.ShortName()} / fp32: PGD step", stepRatio, "x", target ? "<= 0.6" : "(reported)", !target || stepRatio <= 0.6));
        }
        return figures;
    }

    /// <summary>Only the figures of <see cref="NewAttackFigures"/> (APGD, Square and FAB-T), with the same model, batch and device set-up as <see cref="Run"/>.</summary>
    public IReadOnlyList<BenchFigure> RunNewAttacks()
    {
        using var inputs = Inputs();
        var (images, labels) = (inputs.Images, inputs.Labels);
        GlibcMallocTuning.Apply();
        return NewAttackFigures(images, labels).ToList();
    }

    /// <summary>
    /// The attacks of issue 15, measured apart from the figures above: an APGD iteration against a
    /// PGD step (both the marginal cost: (20 − 1 steps) / 19; the same forward + input-backward, so
    /// the ratio is APGD's bookkeeping — momentum, two projections, best point and its gradient), and
    /// a Square query against a bare forward pass (the marginal cost of (21 − 1) queries / 20, every
    /// example kept active by an objective that never succeeds), for the L2 and L-inf versions.
    /// Rounds interleave the measurements; each figure is the median of per-round ratios.
    /// </summary>
    IEnumerable<BenchFigure> NewAttackFigures(Tensor images, Tensor labels)
    {
        var apgdRatios = new List<double>();
        var squareL2Ratios = new List<double>();
        var squareLinfRatios = new List<double>();
        var fabRatios = new List<double>();
        Tensor predicted;
        using (no_grad()) predicted = model.forward(images).argmax(1);
        using var _ = predicted;
        for (int round = 0; round < rounds; round++)
        {
            double pgd = Marginal(steps => PgdSteps(images, labels, steps), AttackSteps);
            double apgd = Marginal(steps => ApgdIterations(images, labels, steps), AttackSteps);
            double fab = Marginal(steps => FabIterations(images, predicted, steps), AttackSteps);
            double forward = Time(() => BareForward(images));
            double squareL2 = Marginal(queries => SquareQueries(images, new L2Ball(1.0), queries - 1), AttackSteps + 1);
            double squareLinf = Marginal(queries => SquareQueries(images, new LinfBall(8 / 255.0), queries - 1), AttackSteps + 1);
            log?.WriteLine($"round {round + 1}: PGD step {pgd * 1000:F1} ms, APGD iteration {apgd * 1000:F1} ms; bare forward {forward * 1000:F1} ms, " +
                           $"Square query L2 {squareL2 * 1000:F1} ms, L-inf {squareLinf * 1000:F1} ms, FAB-T iteration {fab * 1000:F1} ms");
            apgdRatios.Add(apgd / pgd);
            fabRatios.Add(fab / pgd);
            squareL2Ratios.Add(squareL2 / forward);
            squareLinfRatios.Add(squareLinf / forward);
        }
        double a = Median(apgdRatios), l2 = Median(squareL2Ratios), linf = Median(squareLinfRatios);
        yield return new BenchFigure("APGD iteration / PGD step", a, "x", "<= 1.05", a <= 1.05);
        yield return new BenchFigure("Square query (L2) / bare forward", l2, "x", "<= 1.05", l2 <= 1.05);
        yield return new BenchFigure("Square query (L-inf) / bare forward", linf, "x", "<= 1.05", linf <= 1.05);
        // A FAB-T iteration is a PGD step (forward + input-backward, of the target-minus-label logit) plus a
        // forward pass to check success and two exact projections: about 1.5 PGD steps, reported.
        double f = Median(fabRatios);
        yield return new BenchFigure("FAB-T iteration / PGD step", f, "x", "(reported)", true);
    }

    /// <summary>Iterations of FAB-T (L2) toward the second class of every example, on the model's own predictions so that every example is attacked; every iteration runs (no early stop).</summary>
    void FabIterations(Tensor images, Tensor predicted, int iterations)
    {
        using var scope = NewDisposeScope();
        using var result = Fab.RunTargeted(model, images, predicted, new L2Ball(1.25), new AttackRun(0, ExampleIds.Range(0, images.shape[0])),
            new FabOptions { Iterations = iterations, TargetClasses = 1 });
    }

    /// <summary>Seconds per step beyond the first: (time of <paramref name="steps"/> − time of 1) / (steps − 1), after a warm-up.</summary>
    double Marginal(Action<int> run, int steps)
    {
        run(1);
        double one = Time(() => run(1), times: 1, warmUp: false);
        double many = Time(() => run(steps), times: 1, warmUp: false);
        return (many - one) / (steps - 1);
    }

    void BareForward(Tensor images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        model.forward(images);
    }

    /// <summary>Iterations of APGD on the same targeted cross-entropy as <see cref="PgdSteps"/>, every example kept to the end.</summary>
    void ApgdIterations(Tensor images, Tensor labels, int iterations)
    {
        using var scope = NewDisposeScope();
        using var result = Apgd.Run(CrossEntropyObjective.Targeted(model, labels), images, new L2Ball(1.25), new AttackRun(0, ExampleIds.Range(0, images.shape[0])),
            new ApgdOptions { Iterations = iterations, StopOnSuccess = false });
    }

    /// <summary>Queries of Square on one logit (an objective that never succeeds, so every example stays in every query).</summary>
    void SquareQueries(Tensor images, ThreatModel threat, int queries)
    {
        using var scope = NewDisposeScope();
        var objective = new CustomObjective(x => model.forward(x)[.., 0], Direction.Ascend, model);
        using var result = Square.Run(objective, images, threat, new AttackRun(0, ExampleIds.Range(0, images.shape[0])), new SquareOptions { Queries = queries });
    }

    /// <summary>
    /// For the oneDNN comparison's child process: after a warm-up, prints "ready"; then for each line
    /// read, times one bare forward+input-backward (median of <c>repeats</c>) and one marginal PGD step
    /// and prints both in seconds; stops at the end of the input.
    /// </summary>
    public void ServeRounds(TextReader input, TextWriter output)
    {
        using var inputs = Inputs();
        var (images, labels) = (inputs.Images, inputs.Labels);
        BareForwardBackward(images, labels, freeze: true);
        output.WriteLine("ready");
        output.Flush();
        while (input.ReadLine() is not null)
        {
            double bare = Time(() => BareForwardBackward(images, labels, freeze: true));
            var (step, _) = PgdStepTime(images, labels);
            output.WriteLine(FormattableString.Invariant($"{bare} {step}"));
            output.Flush();
        }
    }

    /// <summary>The model in eval mode on the device, and a seeded batch of random images with random labels there (the same in every figure).</summary>
    BenchInputs Inputs()
    {
        model.eval();
        model.to(device);
        manual_seed(0);
        var images = rand(batch, 3, side, side).to(device);
        long classes;
        using (no_grad()) using (var logits = model.forward(images[..1])) classes = logits.shape[1];
        return new BenchInputs(images, randint(0, classes, new long[] { batch }).to(device));
    }

    sealed record BenchInputs(Tensor Images, Tensor Labels) : IDisposable
    {
        public void Dispose()
        {
            Images.Dispose();
            Labels.Dispose();
        }
    }


    double Time(Action action, int? times = null, bool warmUp = true)
    {
        if (warmUp) action(); // first calls pay for allocation and kernel selection
        Synchronise();
        int n = times ?? repeats;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) action();
        Synchronise();
        return clock.Elapsed.TotalSeconds / n;
    }

    /// <summary>GPU work is asynchronous: a timing ends when the device has finished, not when the call returns.</summary>
    void Synchronise()
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }

    /// <summary>
    /// Seconds per PGD step, two ways. Step: the marginal cost, (time of the 20-step attack −
    /// time of a 1-step attack) / 19, so an attack's fixed cost (set-up, the one
    /// forward pass that measures the returned images) is not charged to its steps; this is the
    /// figure compared with one bare forward+backward. Amortised: the whole attack / 20.
    /// </summary>
    (double Step, double Amortised) PgdStepTime(Tensor images, Tensor labels)
    {
        PgdSteps(images, labels, 1); // warm-up
        double one = Time(() => PgdSteps(images, labels, 1), times: 1, warmUp: false);
        double whole = Time(() => PgdSteps(images, labels, AttackSteps), times: 1, warmUp: false);
        return ((whole - one) / (AttackSteps - 1), whole / AttackSteps);
    }

    void BareForwardBackward(Tensor images, Tensor labels, bool freeze)
    {
        using var frozen = freeze ? new FrozenParameters([model]) : null;
        using var scope = NewDisposeScope();
        var x = images.detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(model.call(x), labels);
        if (freeze) autograd.grad([loss], [x]);
        else
        {
            loss.backward();
            model.zero_grad();
        }
    }

    /// <summary>Steps of targeted L2 PGD, the search in <paramref name="precision"/>.</summary>
    void PgdSteps(Tensor images, Tensor labels, int steps, AttackPrecision precision = AttackPrecision.Float32)
    {
        using var scope = NewDisposeScope();
        using var result = Pgd.Run(CrossEntropyObjective.Targeted(model, labels), images, new L2Ball(1.25), new AttackRun(0, Precision: precision), new PgdOptions { Steps = steps, StepSize = 0.5 });
    }

    void SmoothGradBatch(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        // One example, as many noisy copies as the batch: one full batch through the model.
        var smooth = new SmoothGrad(new VanillaGradient(model), samples: batch, sigma: 0.1, batchSize: batch);
        smooth.Attribute(images[..1], AttributionTarget.Loss(labels[..1]));
    }
}
