namespace Repro.Runtime;

/// <summary>One probe's result: its errors over repeats (the worst of each), and whether the fault it looks for showed.</summary>
internal sealed record ProbeResult(KnownFaultProbes.Probe Probe, double Forward, double InputGradient)
{
    /// <summary>The error of the quantity the fault was reported in.</summary>
    public double Watched => Probe.Watches == "forward" ? Forward : InputGradient;
    public bool Correct => Forward <= ArithmeticSelfCheck.Tolerance && InputGradient <= ArithmeticSelfCheck.Tolerance;
}

/// <summary>
/// The float32 convolutions that issue 12 found wrong with libtorch 2.10 on an AMD EPYC (Zen 5) under
/// Firecracker, with the quantity each was wrong in and the error measured then (float32 against
/// float64, 2 threads, oneDNN as shipped). `repro doctor` runs them, and a unit test runs them in a
/// child process with <c>REPRO_ONEDNN=as-shipped</c> to show the fault, and in its own process to show
/// the repair. The errors vary between identical calls (unwritten output memory), so each probe keeps
/// the worst of a few repeats.
/// </summary>
internal static class KnownFaultProbes
{
    public sealed record Probe(string Name, LayerConfiguration Configuration, int Batch, string Watches, string MeasuredInIssue);

    static LayerConfiguration Conv(long cin, long cout, long kernel, long stride, long side, bool channelsLast = false) => new()
    {
        Kind = "conv2d", Input = [cin, side, side], ChannelsLast = channelsLast, Weight = [cout, cin, kernel, kernel], Bias = true,
        Stride = [stride, stride], Padding = [kernel / 2, kernel / 2],
    };

    public static IReadOnlyList<Probe> All { get; } =
    [
        new("1x1 960→320 on 7x7, channels-last, batch 2", Conv(960, 320, 1, 1, 7, channelsLast: true), 2, "forward", "0.47–0.55"),
        new("1x1 320→1280 on 7x7, channels-last, batch 2", Conv(320, 1280, 1, 1, 7, channelsLast: true), 2, "forward", "0.47–0.55"),
        new("3→24 3x3 on 32x32, batch 8", Conv(3, 24, 3, 1, 32), 8, "input gradient", "0.02–0.46"),
        new("24→24 3x3 on 32x32, batch 8", Conv(24, 24, 3, 1, 32), 8, "forward", "0.22–0.39"),
        new("24→48 3x3 stride 2 on 32x32, batch 8", Conv(24, 48, 3, 2, 32), 8, "forward", "0.22–0.39"),
        new("48→96 3x3 stride 2 on 16x16, batch 8", Conv(48, 96, 3, 2, 16), 8, "input gradient", "0.08–0.10"),
        new("3→6 3x3 on 8x8, batch 4", Conv(3, 6, 3, 1, 8), 4, "input gradient", "0.24–1.03"),
    ];

    /// <summary>Runs every probe <paramref name="repeats"/> times; each error is the worst repeat's (NaN wins).</summary>
    public static IReadOnlyList<ProbeResult> Run(int repeats = 5) => All.Select(p =>
    {
        double forward = 0, gradient = 0;
        for (int r = 0; r < repeats; r++)
        {
            var e = ArithmeticSelfCheck.Measure(p.Configuration, [p.Batch])[0];
            forward = Worse(forward, e.Forward);
            gradient = Worse(gradient, e.InputGradient);
        }
        return new ProbeResult(p, forward, gradient);
    }).ToList();

    static double Worse(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b);
}
