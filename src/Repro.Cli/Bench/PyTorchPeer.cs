using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Repro.Attacks;

using static Repro.Bench.BenchFigure;

namespace Repro.Bench;

/// <summary>
/// The PyTorch peer beside the benchmark (<c>repro bench --peer FILE</c>): the tutorial's L2 PGD loop
/// in plain PyTorch, the loop a researcher would run instead of Repro (../shared/tools/peer_pgd_bench.py).
/// After each of the benchmark's rounds it runs the peer once per precision, with the same batch,
/// threads and steps, so that a busy machine slows both sides alike; a figure is the median of the
/// per-round figures (ratios: of per-round ratios).
/// <para>
/// The peer is run as <c>INTERPRETER FILE batch steps threads 1 dtype</c> (dtype float32, bfloat16 or
/// float16), the interpreter from the file's <c>#!</c> line (the shared tool names Debian's
/// /usr/bin/python3, whose PyTorch is the reference here) or else python3 on PATH, and must print a
/// line with <c>bare X ms; pgd step (marginal) Y ms</c>, the shared tool's format. It benches ResNet18 with random weights at 224x224 on the CPU, so the benchmark takes a
/// peer only for its built-in ResNet18 on the CPU. Python is never needed otherwise.
/// </para>
/// </summary>
internal sealed partial class PyTorchPeer
{
    readonly string script;
    readonly string[] interpreter;
    readonly int batch, threads, steps;
    readonly Dictionary<AttackPrecision, List<(double ReproBare, double ReproStep, double Bare, double Step)>> rounds = [];
    readonly TextWriter? log;

    PyTorchPeer(string script, string[] interpreter, int batch, int threads, int steps, TextWriter? log) =>
        (this.script, this.interpreter, this.batch, this.threads, this.steps, this.log) = (script, interpreter, batch, threads, steps, log);

    /// <summary>
    /// Checks the peer before any model is loaded: <paramref name="path"/> must be a file, and its
    /// interpreter must start and import torch (and torchvision, where the script imports it) from the
    /// script's folder, as the script will, so that a Python without them is named now, not after the first round.
    /// </summary>
    /// <exception cref="ReproInputException">The file does not exist or cannot be read.</exception>
    /// <exception cref="ReproEnvironmentException">No interpreter, or one that cannot import torch (its last error line is named).</exception>
    public static PyTorchPeer Check(string path, int batch, int threads, int steps, TextWriter? log)
    {
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
            throw new ReproInputException($"--peer {path}: no such file (give the peer's script, e.g. ../shared/tools/peer_pgd_bench.py)");
        string script = Path.GetFullPath(path);
        string text;
        try { text = File.ReadAllText(script); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ReproInputException($"--peer {path}: cannot be read ({e.Message})"); }
        var interpreter = Interpreter(script, text);
        // torch always; torchvision where the script imports it (the shared tool does, and Debian packages it apart).
        string modules = TorchVisionImport().IsMatch(text) ? "torch, torchvision" : "torch";
        var (code, _, lastError) = Execute(interpreter, ["-c", $"import {modules}"], Path.GetDirectoryName(script)!, TimeSpan.FromMinutes(2));
        if (code != 0)
            throw new ReproEnvironmentException($"--peer {path}: its interpreter {string.Join(' ', interpreter)} cannot import {modules} (exit code {code}: {lastError ?? "no message"}); " +
                                               "give the script a #! line naming a Python with PyTorch (Debian: apt-get install python3-torch python3-torchvision)");
        return new PyTorchPeer(script, interpreter, batch, threads, steps, log);
    }

    /// <summary>The program (and its arguments) on the script's <c>#!</c> line, or python3 on PATH.</summary>
    /// <exception cref="ReproEnvironmentException">No #! line and no python3 on PATH.</exception>
    static string[] Interpreter(string script, string text)
    {
        string first = text.TrimStart('\uFEFF').Split('\n', 2)[0].TrimEnd('\r');
        if (first.StartsWith("#!", StringComparison.Ordinal)
            && first[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } named)
            return named;
        string python = FindOnPath("python3")
                        ?? throw new ReproEnvironmentException($"--peer {script}: it has no #! line and python3 is not on PATH");
        return [python];
    }

    /// <summary>The name PyTorch gives a precision's dtype, as the peer takes it.</summary>
    public static string DType(AttackPrecision precision) => precision switch
    {
        AttackPrecision.Float32 => "float32",
        AttackPrecision.BFloat16 => "bfloat16",
        AttackPrecision.Float16 => "float16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "not a precision the peer knows"),
    };

    /// <summary>
    /// One round of the peer in each precision of <paramref name="repro"/>, after the benchmark's own
    /// round in it (its bare forward + input-backward and marginal PGD step, seconds), kept beside it.
    /// </summary>
    /// <exception cref="ReproEnvironmentException">The peer failed (its last error line is named) or printed no figures.</exception>
    public void Round(IReadOnlyDictionary<AttackPrecision, (double Bare, double Step)> repro)
    {
        foreach (var (precision, own) in repro)
        {
            var (bare, step) = RunOnce(precision);
            if (!rounds.TryGetValue(precision, out var list)) rounds[precision] = list = [];
            list.Add((own.Bare, own.Step, bare, step));
            log?.WriteLine($"  PyTorch peer {precision.ShortName()}: bare forward+input-backward {bare * 1000:F1} ms; PGD step {step * 1000:F1} ms");
        }
    }

    /// <summary>
    /// Per precision: the peer's bare pass and PGD step (ms), and Repro's PGD step and bare pass over the peer's;
    /// beside fp32, each other precision's PGD step over fp32 in the peer (the figure to read beside
    /// Repro's own ratio).
    /// </summary>
    public IEnumerable<BenchFigure> Figures()
    {
        foreach (var (precision, list) in rounds.OrderBy(p => p.Key))
        {
            string p = precision.ShortName();
            yield return new($"PyTorch peer {p}: bare forward+input-backward", Median(list.Select(r => r.Bare)) * 1000, "ms", "(reported)", true);
            yield return new($"PyTorch peer {p}: PGD step (marginal)", Median(list.Select(r => r.Step)) * 1000, "ms", "(reported)", true);
            yield return new($"{p} PGD step, Repro / PyTorch peer", Median(list.Select(r => r.ReproStep / r.Step)), "x", "(reported)", true);
            // The same over the bare passes: how much of the step's difference is the two libtorch builds' kernels, not the attack loop.
            yield return new($"{p} bare forward+input-backward, Repro / PyTorch peer", Median(list.Select(r => r.ReproBare / r.Bare)), "x", "(reported)", true);
        }
        if (!rounds.TryGetValue(AttackPrecision.Float32, out var fp32)) yield break;
        foreach (var (precision, list) in rounds.Where(p => p.Key != AttackPrecision.Float32).OrderBy(p => p.Key))
            yield return new($"PyTorch peer {precision.ShortName()} / fp32: PGD step", Median(list.Zip(fp32, (a, b) => a.Step / b.Step)), "x", "(reported)", true);
    }

    (double Bare, double Step) RunOnce(AttackPrecision precision)
    {
        var (code, output, lastError) = Execute(interpreter, [script, Text(batch), Text(steps), Text(threads), "1", DType(precision)], Path.GetDirectoryName(script)!, TimeSpan.FromMinutes(30), threads);
        if (code != 0)
            throw new ReproEnvironmentException($"--peer {script} ({DType(precision)}) stopped with exit code {code}: {lastError ?? "no message"}");
        return Parse(output) ?? throw new ReproEnvironmentException($"--peer {script} ({DType(precision)}) printed no 'bare X ms; pgd step (marginal) Y ms' line");
    }

    /// <summary>Runs the interpreter with <paramref name="arguments"/> in <paramref name="folder"/>: its exit code, its output and its last error line.</summary>
    /// <exception cref="ReproEnvironmentException">It cannot be started, or it outlives <paramref name="limit"/> (it is then stopped).</exception>
    static (int Code, string Output, string? LastError) Execute(string[] interpreter, string[] arguments, string folder, TimeSpan limit, int? threads = null)
    {
        var start = new ProcessStartInfo(interpreter[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
        foreach (string a in interpreter.Skip(1).Concat(arguments)) start.ArgumentList.Add(a);
        // OpenMP reads its thread count before PyTorch's own setting: the benchmark's, not the caller's variable.
        if (threads is int count) start.Environment["OMP_NUM_THREADS"] = Text(count);
        Process process;
        try { process = Process.Start(start) ?? throw new ReproEnvironmentException($"--peer: cannot start {interpreter[0]}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new ReproEnvironmentException($"--peer: cannot start {interpreter[0]}: {e.Message}"); }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            // Both pipes within the limit too: a child the peer left behind could hold them open.
            if (!process.WaitForExit(limit) || !Task.WaitAll([output, errors], limit))
            {
                process.Kill(entireProcessTree: true);
                throw new ReproEnvironmentException($"--peer: {interpreter[0]} {string.Join(' ', arguments)} ran past {limit.TotalMinutes:F0} min and was stopped");
            }
            process.WaitForExit();
            string? lastError = errors.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            return (process.ExitCode, output.Result, lastError);
        }
    }

    /// <summary>The last round's bare pass and PGD step (seconds) in the peer's output, or null if it has none.</summary>
    internal static (double Bare, double Step)? Parse(string output)
    {
        var matches = RoundLine().Matches(output);
        if (matches.Count == 0) return null;
        var last = matches[^1];
        return (double.Parse(last.Groups[1].Value, CultureInfo.InvariantCulture) / 1000, double.Parse(last.Groups[2].Value, CultureInfo.InvariantCulture) / 1000);
    }

    // A marginal step can come out negative on a noisy machine: read as printed.
    [GeneratedRegex(@"bare (-?[0-9]+(?:\.[0-9]+)?) ms; pgd step \(marginal\) (-?[0-9]+(?:\.[0-9]+)?) ms")]
    private static partial Regex RoundLine();

    [GeneratedRegex(@"^\s*(import|from)\s+torchvision\b", RegexOptions.Multiline)]
    private static partial Regex TorchVisionImport();

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists);

    static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

}
