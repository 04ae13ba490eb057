using System.Diagnostics;
using System.Globalization;
using Repro.Runtime;

using static Repro.Bench.BenchFigure;

namespace Repro.Bench;

/// <summary>
/// What the oneDNN configuration costs: the same bare forward+input-backward and marginal PGD step,
/// timed under other <c>REPRO_ONEDNN</c> values. The configuration is fixed per process, so each runs
/// in a child process (<c>repro bench --serve-rounds</c>) that times one round whenever asked; the
/// benchmark asks after each of its own rounds, so that a busy machine slows every side alike.
/// The children skip the arithmetic self-check: "as-shipped" computes wrong convolutions on an
/// affected CPU, and only its speed is wanted here.
/// </summary>
internal sealed class OneDnnComparison : IDisposable
{
    sealed record Child(string Configuration, Process Process, List<double> Bare, List<double> Step);
    readonly List<Child> children = [];
    readonly List<double> parentBare = [], parentStep = [];
    readonly TextWriter? log;

    OneDnnComparison(TextWriter? log) => this.log = log;

    /// <summary>Starts one child per configuration (ResNet18, random weights, <paramref name="batch"/> at 224x224, <paramref name="threads"/> threads) and waits until each is warm.</summary>
    public static OneDnnComparison Start(IEnumerable<string> configurations, int batch, int threads, TextWriter? log = null)
    {
        var comparison = new OneDnnComparison(log);
        try
        {
            foreach (string configuration in configurations)
            {
                string exe = Environment.ProcessPath ?? "dotnet";
                var start = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                // Under `dotnet repro.dll` or a test host the process is dotnet itself: name the assembly.
                if (Path.GetFileNameWithoutExtension(exe) == "dotnet") start.ArgumentList.Add(typeof(OneDnnComparison).Assembly.Location);
                foreach (string a in new[] { "bench", "--serve-rounds", "--batch", batch.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture) })
                    start.ArgumentList.Add(a);
                start.Environment[OneDnnConfiguration.Variable] = configuration;
                var process = Process.Start(start) ?? throw new ReproEnvironmentException($"cannot start {exe} for the oneDNN comparison");
                process.ErrorDataReceived += (_, _) => { }; // libtorch's warnings: drained, not shown
                process.BeginErrorReadLine();
                var child = new Child(configuration, process, [], []);
                comparison.children.Add(child);
                string? ready = process.StandardOutput.ReadLine();
                if (ready != "ready")
                    throw new ReproEnvironmentException($"the oneDNN comparison's child process ({OneDnnConfiguration.Variable}={configuration}) did not start: {ready ?? "no output"}");
            }
            return comparison;
        }
        catch
        {
            comparison.Dispose();
            throw;
        }
    }

    /// <summary>One round in every child, one after the other, after this process's round (its bare pass and PGD step, seconds).</summary>
    public void Round(double bare, double step)
    {
        parentBare.Add(bare);
        parentStep.Add(step);
        foreach (var child in children)
        {
            child.Process.StandardInput.WriteLine("round");
            child.Process.StandardInput.Flush();
            string line = child.Process.StandardOutput.ReadLine()
                          ?? throw new ReproEnvironmentException($"the oneDNN comparison's child process ({child.Configuration}) stopped");
            var parts = line.Split(' ');
            child.Bare.Add(double.Parse(parts[0], CultureInfo.InvariantCulture));
            child.Step.Add(double.Parse(parts[1], CultureInfo.InvariantCulture));
            log?.WriteLine($"  {OneDnnConfiguration.Variable}={child.Configuration}: bare forward+input-backward {child.Bare[^1] * 1000:F1} ms; PGD step {child.Step[^1] * 1000:F1} ms");
        }
    }

    /// <summary>Each child's medians in ms, and this process's PGD step and bare pass over the child's: the median of per-round ratios.</summary>
    public IEnumerable<BenchFigure> Figures()
    {
        foreach (var child in children.Where(c => c.Bare.Count > 0))
        {
            yield return new($"bare forward+input-backward, {OneDnnConfiguration.Variable}={child.Configuration}", Median(child.Bare) * 1000, "ms", "(reported)", true);
            yield return new($"PGD step (marginal), {OneDnnConfiguration.Variable}={child.Configuration}", Median(child.Step) * 1000, "ms", "(reported)", true);
            yield return new($"PGD step, {OneDnnConfiguration.Mode} / {child.Configuration}", Median(parentStep.Zip(child.Step, (p, c) => p / c).ToList()), "x", "(reported)", true);
            yield return new($"bare forward+backward, {OneDnnConfiguration.Mode} / {child.Configuration}", Median(parentBare.Zip(child.Bare, (p, c) => p / c).ToList()), "x", "(reported)", true);
        }
    }


    public void Dispose()
    {
        foreach (var child in children)
        {
            try
            {
                child.Process.StandardInput.Close();
                if (!child.Process.WaitForExit(30_000)) child.Process.Kill();
            }
            catch (InvalidOperationException) { }
            child.Process.Dispose();
        }
        children.Clear();
    }
}
