using System.Globalization;
using System.Text.RegularExpressions;
using Repro.Runtime;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Runtime;

/// <summary>
/// Issue 12's table, reproduced and repaired. KNOWN FAULT: with oneDNN as libtorch ships it, on a CPU
/// that shows the fault (AMD whose CPUID cache leaf 0x8000001D reads zero, as under Firecracker here),
/// these float32 convolutions disagree with float64 by 2-100% or give NaN. The configuration is
/// process-wide, so the faulty side runs in a child process (<c>repro doctor --probes-only</c> with
/// REPRO_ONEDNN=as-shipped); this process runs under the test set-up's configuration (the repair).
/// </summary>
[NonParallelizable]
public class KnownFaultTests
{
    /// <summary>
    /// Probes whose fault shows in some child processes and not in others (measured 2026-11-29: the
    /// [4,3,8,8] input gradient was 0.24–1.03 off in the issue and in most runs, 2e-7 in one CI-length run).
    /// </summary>
    static readonly HashSet<string> Intermittent = ["3→6 3x3 on 8x8, batch 4"];

    [Test, Category("KnownFault")]
    public void WithTheWorkaroundOffEveryProbedConvolutionIsWrong()
    {
        IgnoreWhereTheCpuDoesNotShowTheFault();
        var (code, output, error) = ReproProcess.Run(AsShipped, "doctor", "--probes-only");
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.EqualTo(2), "doctor exits 2 when the arithmetic is wrong");
        Assert.That(error, Does.Contain("disagrees with float64"));
        var rows = Rows(output);
        Assert.That(rows.Keys, Is.EquivalentTo(KnownFaultProbes.All.Select(p => p.Name)));
        Assert.Multiple(() =>
        {
            foreach (var probe in KnownFaultProbes.All)
            {
                var (forward, gradient) = rows[probe.Name];
                double watched = probe.Watches == "forward" ? forward : gradient;
                if (Intermittent.Contains(probe.Name))
                {
                    // Wrong in some runs only (even with the worst of 5 repeats): printed, not asserted.
                    TestContext.Out.WriteLine($"intermittent probe {probe.Name}: {probe.Watches} error {watched:0.0e+00} in this run (issue: {probe.MeasuredInIssue})");
                    continue;
                }
                Assert.That(double.IsNaN(watched) || watched > ArithmeticSelfCheck.Tolerance, Is.True,
                    $"{probe.Name}: {probe.Watches} error {watched:0.0e+00} as shipped (issue: {probe.MeasuredInIssue})");
            }
        });
    }

    [Test, Category("KnownFault")]
    public void WithTheWorkaroundOffACommandThatLoadsMobileNetV2StopsNamingTheWrongLayer()
    {
        IgnoreWhereTheCpuDoesNotShowTheFault();
        MobileNetV2File.Require();
        var (code, output, error) = ReproProcess.Run(AsShipped,
            "eval", "--model", "mobilenet_v2", "--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot);
        TestContext.Out.WriteLine(error);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Match(@"arithmetic self-check failed for mobilenet_v2: layer 'layers\.[0-9]+' \(conv [^)]*\), float32 (forward|input gradient) at batch [12]: "));
        Assert.That(output, Does.Not.Contain("top-1"), "no result computed on wrong arithmetic");
    }

    [Test]
    public void WithTheWorkaroundOnEveryProbedConvolutionAgreesWithFloat64()
    {
        TestContext.Out.WriteLine(OneDnnConfiguration.Summary);
        var results = KnownFaultProbes.Run();
        foreach (var r in results) TestContext.Out.WriteLine($"{r.Probe.Name}: forward {r.Forward:0.0e+00}, input gradient {r.InputGradient:0.0e+00}");
        Assert.That(results.Where(r => !r.Correct).Select(r => r.Probe.Name), Is.Empty);
    }

    [Test]
    public void WhereTheCpuShowsTheFaultTheRepairIsInForce()
    {
        var leaves = OneDnnCacheRepair.ReadCacheLeaves();
        TestContext.Out.WriteLine($"{leaves?.Describe()}; {OneDnnConfiguration.Summary}");
        if (OneDnnConfiguration.Mode != "repair") TestData.NotRun($"REPRO_ONEDNN={OneDnnConfiguration.Mode} chosen for this run: the repair is not in force by choice. To fix: unset REPRO_ONEDNN");
        if (leaves?.Affected == true) Assert.That(OneDnnConfiguration.Summary, Does.Contain("cache sizes repaired").And.Not.Contain("late"));
        else Assert.That(OneDnnConfiguration.Summary, Does.Contain("nothing to repair"));
    }

    [Test]
    public void TheDoctorRunsCleanWithNothingOnStandardError()
    {
        // NNPACK is switched off at start-up (OneDnnConfiguration): libtorch then never asks for it, so on a
        // CPU that NNPACK does not support nothing prints "Could not initialize NNPACK" (249 lines before).
        var (code, output, error) = ReproProcess.Run(new Dictionary<string, string?>(), "doctor");
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("arithmetic OK"));
        Assert.That(error, Does.Not.Contain("NNPACK"));
    }

    /// <summary>oneDNN as shipped: REPRO_ONEDNN=as-shipped, and no ISA cap inherited from the shell (an earlier workaround).</summary>
    static readonly Dictionary<string, string?> AsShipped = new() { [OneDnnConfiguration.Variable] = "as-shipped", ["ONEDNN_MAX_CPU_ISA"] = null };

    static void IgnoreWhereTheCpuDoesNotShowTheFault()
    {
        var leaves = OneDnnCacheRepair.ReadCacheLeaves();
        if (leaves?.Affected == true) return;
        string reason = $"this CPU does not show the known oneDNN fault: {leaves?.Describe() ?? "not an x86 CPU"}";
        TestData.NotRun(reason + " (the known-fault table can only be reproduced on a CPU that shows the fault)");
    }

    /// <summary>Probe name → (forward, input gradient) from the doctor's probe table.</summary>
    static Dictionary<string, (double Forward, double Gradient)> Rows(string doctorOutput)
    {
        var rows = new Dictionary<string, (double, double)>();
        foreach (string line in doctorOutput.Split('\n'))
        {
            var m = Regex.Match(line, @"^(?<name>.+?)\s+(?<f>NaN|[0-9.]+e[+-][0-9]+)\s+(?<g>NaN|[0-9.]+e[+-][0-9]+)\s+(forward|input gradient)\s");
            if (m.Success) rows[m.Groups["name"].Value.Trim()] = (Parse(m.Groups["f"].Value), Parse(m.Groups["g"].Value));
        }
        return rows;
    }

    static double Parse(string s) => s == "NaN" ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
}
