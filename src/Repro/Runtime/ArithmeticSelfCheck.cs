using System.Diagnostics;
using static TorchSharp.torch;

namespace Repro.Runtime;

/// <summary>The error (float32, or the low precision checked) of one configuration at one batch size, relative to the float64 result's largest magnitude.</summary>
internal sealed record BatchError(int Batch, double Forward, double InputGradient);

/// <summary>One configuration's check: the first layer that has it, how many layers share it, its errors per batch size.</summary>
internal sealed record LayerCheck(LayerConfiguration Configuration, string Layer, int Layers, IReadOnlyList<BatchError> Errors, double Seconds, ScalarType DType = ScalarType.Float32)
{
    /// <summary>The tolerance of <see cref="DType"/> (<see cref="ArithmeticSelfCheck.ToleranceFor"/>).</summary>
    public double Tolerance => ArithmeticSelfCheck.ToleranceFor(DType);
    /// <summary>The largest error over batch sizes, forward and input gradient (NaN if any result was not finite).</summary>
    public double Worst => Errors.Select(e => Math.Max(e.Forward, e.InputGradient)).Aggregate(0.0, (a, e) => double.IsNaN(a) || double.IsNaN(e) ? double.NaN : Math.Max(a, e));
    public bool Passed => Worst <= Tolerance; // false for NaN

    /// <summary>The first failing measurement in words, e.g. "forward at batch 2: 5.0e-01".</summary>
    public string FirstFailure()
    {
        foreach (var e in Errors)
        {
            if (!(e.Forward <= Tolerance)) return $"forward at batch {e.Batch}: {e.Forward:0.0e+00}";
            if (!(e.InputGradient <= Tolerance)) return $"input gradient at batch {e.Batch}: {e.InputGradient:0.0e+00}";
        }
        return "none";
    }
}

/// <summary>A model's check: every distinct configuration, the layers that could not be traced, the time it took here.</summary>
internal sealed record ModelCheck(string Model, IReadOnlyList<LayerCheck> Layers, IReadOnlyList<string> Unseen, double Seconds, double CpuSeconds, ScalarType DType = ScalarType.Float32)
{
    /// <summary>Skipped at the caller's request (<see cref="ArithmeticCheck.Skip"/>): nothing was run.</summary>
    public bool Skipped { get; init; }
    public bool Passed => Layers.All(l => l.Passed) && Unseen.Count == 0;
    /// <summary>No layer the check can run was visible (a TorchScript module computes inside libtorch's interpreter): the model's arithmetic is unverified, and said so.</summary>
    public bool NothingChecked => Layers.Count == 0;
    public double Worst => Layers.Count == 0 ? 0 : Layers.Select(l => l.Worst).Aggregate((a, e) => double.IsNaN(a) || double.IsNaN(e) ? double.NaN : Math.Max(a, e));

    public string Describe() =>
        Skipped ? $"{Model}: SKIPPED at the caller's request ({ArithmeticCheck.SkipSetting}); results are computed on unchecked float32 arithmetic"
        : NothingChecked ? $"{Model}: NOT CHECKED — no convolution, linear or pooling layer of it is visible to the check (a TorchScript module computes inside libtorch's interpreter); its float32 arithmetic is unverified"
        : $"{Model}: {Layers.Count} configurations ({Layers.Sum(l => l.Layers)} layers) at batch {string.Join(" and ", ArithmeticSelfCheck.Batches)}, " +
        $"worst {ArithmeticSelfCheck.Name(DType)} error {Worst:0.0e+00} of scale (tolerance {ArithmeticSelfCheck.ToleranceFor(DType):0e+00}), {Seconds:F1} s ({CpuSeconds:F1} s CPU)" +
        (Unseen.Count > 0 ? $"; NOT CHECKED (not reached through call()): {string.Join(", ", Unseen)}" : "");
}

/// <summary>
/// Where the arithmetic self-check's report goes, and whether it runs: the public settings of the
/// check every model loader runs before a model computes anything (README: arithmetic you can trust).
/// </summary>
public static class ArithmeticCheck
{
    static TextWriter log = TextWriter.Null;

    /// <summary>
    /// Where each checked model's one-line report goes (its configurations, worst float32 error and time,
    /// or that it was not checked). Default: nowhere (<see cref="TextWriter.Null"/>) in the library; the
    /// <c>repro</c> command sets standard output. A failure is never only logged: it throws
    /// <see cref="ReproInputException"/> naming the layer.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null (use <see cref="TextWriter.Null"/> for silence).</exception>
    public static TextWriter Log
    {
        get => log;
        set => log = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// Skip the check for users who accept the risk (a machine known to be correct, a model loaded many
    /// times): no layer is run, and every report and the run's summary say SKIPPED. Default: false, or
    /// true when the environment variable <c>REPRO_ARITHMETIC_CHECK</c> is <c>off</c>.
    /// </summary>
    public static bool Skip { get; set; } = string.Equals(Environment.GetEnvironmentVariable("REPRO_ARITHMETIC_CHECK"), "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>How the skip was asked for, for reports.</summary>
    internal static string SkipSetting => string.Equals(Environment.GetEnvironmentVariable("REPRO_ARITHMETIC_CHECK"), "off", StringComparison.OrdinalIgnoreCase)
        ? "REPRO_ARITHMETIC_CHECK=off" : "ArithmeticCheck.Skip";

    /// <summary>One line: what the check found for every model loaded in this process (or that it was skipped or could not see a model's layers).</summary>
    public static string Summary => ArithmeticSelfCheck.Summary;
}

/// <summary>
/// The arithmetic self-check: for a model, every distinct convolution, linear and pooling configuration
/// it contains (<see cref="LayerConfiguration.Trace"/>: shapes, stride, padding, groups, dilation, memory
/// layout) is run on random data at batch 1 and 2, forward and input gradient, in float32 and in float64;
/// the float32 results must agree with float64 within <see cref="Tolerance"/> of the float64 result's
/// largest magnitude. Each configuration is checked once per process (the configuration of libtorch,
/// <see cref="OneDnnConfiguration"/>, is fixed for the process); later models reuse the verdicts.
/// <para>
/// Why: libtorch 2.10's float32 CPU convolutions were wrong by 20-100% on this machine class (see
/// <see cref="OneDnnCacheRepair"/>) and nothing in libtorch or the Python tools notices. Every command
/// that loads a model calls <see cref="Ensure"/>, which stops the command (exit 2, the layer and the
/// error named) rather than compute a result on wrong arithmetic.
/// </para>
/// </summary>
internal static class ArithmeticSelfCheck
{
    /// <summary>
    /// float32 vs float64, relative to the float64 result's largest magnitude. Correct float32 kernels
    /// measured 1e-7 to 3e-6 here (sums of up to 4,608 products); the faults measured 0.02 to 1 or NaN.
    /// </summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// bfloat16 (8-bit mantissa, unit roundoff 2^-9 = 2.0e-3) against float64 on the same bfloat16-rounded
    /// inputs and weights: the output's own rounding alone is up to 2.0e-3 of scale, and correct kernels
    /// (accumulating in float32) measured up to 5.4e-3 here (ResNet's 3x3 max-pool input gradient; convolutions up to 3.7e-3); the float32 faults of issue 12 were 0.02 to 1.
    /// </summary>
    public const double BFloat16Tolerance = 1e-2;

    /// <summary>float16 (11-bit mantissa, unit roundoff 2^-12 = 2.4e-4) against float64 on the same float16-rounded inputs: correct kernels measured up to 6.7e-4 here (max-pool input gradient; convolutions up to 4.6e-4).</summary>
    public const double Float16Tolerance = 2e-3;

    /// <summary>The tolerance for <paramref name="dtype"/>: <see cref="Tolerance"/> (float32), <see cref="BFloat16Tolerance"/>, <see cref="Float16Tolerance"/>.</summary>
    public static double ToleranceFor(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => Tolerance,
        ScalarType.BFloat16 => BFloat16Tolerance,
        ScalarType.Float16 => Float16Tolerance,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "the self-check covers float32, bfloat16 and float16"),
    };

    /// <summary>float32, bfloat16 or float16.</summary>
    public static string Name(ScalarType dtype) => dtype.ToString().ToLowerInvariant();

    /// <summary>Batch 1 and a batch of 2: libtorch takes oneDNN for most convolutions only from batch 2.</summary>
    public static IReadOnlyList<int> Batches { get; } = [1, 2];

    /// <summary>The input of the ImageNet models: [3,224,224].</summary>
    public static readonly long[] ImageNetInput = [3, 224, 224];

    static readonly object gate = new();
    static readonly Dictionary<string, (IReadOnlyList<BatchError> Errors, double Seconds)> verdicts = [];
    static readonly List<ModelCheck> models = [];

    /// <summary>Every model checked in this process, in order.</summary>
    public static IReadOnlyList<ModelCheck> Models
    {
        get { lock (gate) return models.ToList(); }
    }

    /// <summary>One line for reports: the configuration of libtorch and what the check found in this process.</summary>
    public static string Summary
    {
        get
        {
            var all = Models.Where(m => m.DType == ScalarType.Float32).ToList();
            string skipped = all.Any(m => m.Skipped) ? $"; SKIPPED for {string.Join(", ", all.Where(m => m.Skipped).Select(m => m.Model).Distinct())} ({ArithmeticCheck.SkipSetting})" : "";
            string unverified = all.Any(m => !m.Skipped && m.NothingChecked) ? $"; NOT CHECKED (no layer visible): {string.Join(", ", all.Where(m => !m.Skipped && m.NothingChecked).Select(m => m.Model).Distinct())}" : "";
            var checkedModels = all.Where(m => !m.Skipped && !m.NothingChecked).ToList();
            if (checkedModels.Count == 0) return "arithmetic self-check: no model checked in this run" + skipped + unverified + LowPrecisionSummary();
            int configurations;
            lock (gate) configurations = verdicts.Keys.Count(k => k.StartsWith("Float32|", StringComparison.Ordinal));
            double worst = checkedModels.Select(m => m.Worst).Aggregate((a, e) => double.IsNaN(a) || double.IsNaN(e) ? double.NaN : Math.Max(a, e));
            return $"arithmetic self-check: {configurations} configurations of {string.Join(", ", checkedModels.Select(m => m.Model).Distinct())} " +
                   $"checked in {checkedModels.Sum(m => m.Seconds):F1} s ({checkedModels.Sum(m => m.CpuSeconds):F1} s CPU), worst float32 error {worst:0.0e+00} of scale (tolerance {Tolerance:0e+00})" +
                   (checkedModels.All(m => m.Passed) ? "" : " — FAILED") + skipped + unverified + LowPrecisionSummary();
        }
    }

    static string LowPrecisionSummary()
    {
        var low = Models.Where(m => m.DType != ScalarType.Float32).GroupBy(m => m.DType).ToList();
        return string.Concat(low.Select(g =>
        {
            double worst = g.Select(m => m.Worst).Aggregate((a, e) => double.IsNaN(a) || double.IsNaN(e) ? double.NaN : Math.Max(a, e));
            return $"; in {Name(g.Key)}: {string.Join(", ", g.Select(m => m.Model).Distinct())}, worst error {worst:0.0e+00} (tolerance {ToleranceFor(g.Key):0e+00})" +
                   (g.All(m => m.Passed) ? "" : " — FAILED");
        }));
    }

    /// <summary>
    /// Checks <paramref name="model"/> (input [N, ..<paramref name="input"/>], images in [0,1]) in
    /// <paramref name="dtype"/> (float32, bfloat16 or float16) against float64, without throwing;
    /// configurations already checked in this process in this dtype are not run again.
    /// </summary>
    public static ModelCheck Run(nn.Module<Tensor, Tensor> model, string name, long[] input, ScalarType dtype = ScalarType.Float32)
    {
        ToleranceFor(dtype);
        OneDnnConfiguration.Apply();
        lock (gate)
        {
            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var traced = LayerConfiguration.Trace(model, input, Batches, out var unseen);
            var layers = new List<LayerCheck>();
            foreach (var (configuration, layer, count) in traced)
            {
                string key = $"{dtype}|{configuration.Key}";
                if (!verdicts.TryGetValue(key, out var verdict))
                {
                    var one = Stopwatch.StartNew();
                    var errors = Measure(configuration, Batches, dtype);
                    verdicts[key] = verdict = (errors, one.Elapsed.TotalSeconds);
                }
                layers.Add(new LayerCheck(configuration, layer, count, verdict.Errors, verdict.Seconds, dtype));
            }
            var check = new ModelCheck(name, layers, unseen, clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds, dtype);
            models.Add(check);
            return check;
        }
    }

    /// <summary>
    /// <see cref="Run"/>, one line on stderr with the result and its time, and a
    /// <see cref="ReproInputException"/> (exit code 2) naming the first failing layer, its configuration
    /// and its error when any configuration fails or a layer could not be checked.
    /// </summary>
    public static ModelCheck Ensure(nn.Module<Tensor, Tensor> model, string name, long[] input, ScalarType dtype = ScalarType.Float32)
    {
        if (ArithmeticCheck.Skip)
        {
            var skipped = new ModelCheck(name, [], [], 0, 0) { Skipped = true };
            lock (gate) models.Add(skipped);
            ArithmeticCheck.Log.WriteLine($"arithmetic self-check, {skipped.Describe()}");
            return skipped;
        }
        var check = Run(model, name, input, dtype);
        ArithmeticCheck.Log.WriteLine($"arithmetic self-check, {check.Describe()}"); // a note, not an error: the command routes it to stdout
        if (check.Passed) return check;
        if (check.Layers.FirstOrDefault(l => !l.Passed) is { } failed)
            throw new ReproInputException(
                $"arithmetic self-check failed for {name}: layer '{failed.Layer}' ({failed.Configuration.Describe()}), {Name(dtype)} {failed.FirstFailure()} " +
                $"of the float64 result's scale (tolerance {ToleranceFor(dtype):0e+00}) under {OneDnnConfiguration.Summary}. No result is computed on this arithmetic; " +
                "'repro doctor' prints the full table (README: arithmetic you can trust)");
        throw new ReproInputException($"arithmetic self-check for {name}: layers not reached through call() cannot be checked: {string.Join(", ", check.Unseen)}");
    }

    /// <summary>
    /// <see cref="Ensure"/> on a throwaway instance of an architecture (the check depends on layer
    /// configurations, not weights), so that it can run before weights are loaded or trained. The
    /// instance's random initialisation does not move the caller's global random stream.
    /// </summary>
    public static ModelCheck EnsureArchitecture(Func<nn.Module<Tensor, Tensor>> build, string name, long[] input)
    {
        nn.Module<Tensor, Tensor> model;
        using (var state = random.get_rng_state())
        {
            model = build();
            random.set_rng_state(state);
        }
        using (model) return Ensure(model, name, input);
    }

    /// <summary>
    /// <paramref name="dtype"/> (float32 by default) against float64 on random data, at each batch size,
    /// forward and input gradient (not cached). Inputs, weights and the upstream gradient are rounded to
    /// <paramref name="dtype"/> first and float64 computes on the rounded values, so the error is the
    /// kernels' arithmetic, not the rounding of the data.
    /// </summary>
    public static IReadOnlyList<BatchError> Measure(LayerConfiguration c, IReadOnlyList<int> batches, ScalarType dtype = ScalarType.Float32)
    {
        // A private generator: the check must not move the caller's seeded random stream.
        var generator = new Generator(1234);
        Tensor Uniform(long[] shape) => rand(shape, generator: generator) * 2 - 1;
        var errors = new List<BatchError>();
        using var grad = enable_grad();
        foreach (int batch in batches)
        {
            using var scope = NewDisposeScope();
            var x = Uniform([batch, .. c.Input]).to_type(dtype);
            Tensor? weight = null, bias = null;
            if (c.Weight is not null)
            {
                long fanIn = c.Weight.Skip(1).Aggregate(1L, (a, d) => a * d);
                weight = (Uniform(c.Weight) / Math.Sqrt(fanIn)).to_type(dtype);
                if (c.Bias) bias = (Uniform([c.Weight[0]]) * 0.1).to_type(dtype);
            }
            var x32 = (c.ChannelsLast ? LayerConfiguration.ToChannelsLast(x) : x.clone()).requires_grad_(true);
            var y32 = c.Run(x32, weight, bias);
            var upstream = Uniform(y32.shape).to_type(dtype);
            var g32 = autograd.grad([(y32 * upstream).sum()], [x32])[0];
            var x64 = x.to_type(ScalarType.Float64).requires_grad_(true);
            var y64 = c.Run(x64, weight?.to_type(ScalarType.Float64), bias?.to_type(ScalarType.Float64));
            var g64 = autograd.grad([(y64 * upstream.to_type(ScalarType.Float64)).sum()], [x64])[0];
            errors.Add(new BatchError(batch, Relative(y32, y64), Relative(g32, g64)));
        }
        return errors;
    }

    /// <summary>max |a − b| / max |b| (b the float64 reference); NaN when a is not finite.</summary>
    public static double Relative(Tensor a, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var r = reference.detach().to_type(ScalarType.Float64);
        double difference = (a.detach().to_type(ScalarType.Float64) - r).abs().max().item<double>();
        double scale = r.abs().max().item<double>();
        return difference / Math.Max(scale, 1e-30);
    }
}
