using System.Globalization;
using Repro.Attacks;
using Repro.Bench;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// <c>repro bench --peer FILE</c> (issue 23): the PyTorch peer timed beside Repro in one run. The
/// peers here are small Python stand-ins that print the shared tool's line with known times, with an
/// empty torch.py beside them for the import check, so the plumbing is checked without PyTorch (the
/// figures read back are the stand-in's, not a timing); the real peer is run by hand (README, benchmark).
/// </summary>
[NonParallelizable]
public class BenchPeerTests
{
    static (int Code, string Output, string Error) Run(params string[] args) => OwnModelCommandTests.Run(args);

    [Test]
    public void TheSharedToolsRoundLineIsRead()
    {
        string output = "round 0 (float32): bare 331.2 ms; pgd step (marginal) 329.8 ms; whole 10-step attack 3301 ms\n" +
                        "round 1 (float32): bare 320.0 ms; pgd step (marginal) 315.5 ms; whole 10-step attack 3150 ms\n";
        var parsed = PyTorchPeer.Parse(output);
        Assert.That(parsed, Is.Not.Null);
        Assert.That(parsed!.Value.Bare, Is.EqualTo(0.320).Within(1e-12), "the last round's bare pass, in seconds");
        Assert.That(parsed.Value.Step, Is.EqualTo(0.3155).Within(1e-12));
        Assert.That(PyTorchPeer.Parse("Traceback (most recent call last):\nImportError"), Is.Null);
    }

    [Test]
    public void APeerIsTimedAfterEachRoundInEachPrecisionWithTheBenchmarksBatchThreadsAndSteps()
    {
        if (!AttackPrecisions.Supported(AttackPrecision.BFloat16, CPU, out var reason)) Assert.Ignore($"NOT RUN — no bf16 kernels here: {reason}");
        RequirePython();
        string folder = StandInFolder(), calls = Path.Combine(folder, "calls.txt");
        // fp32: bare 10 ms, step 20 ms; bf16: bare 5 ms, step 8 ms; each call appends its arguments.
        string script = Write(folder, "peer.py",
            "import sys\n" +
            $"open({Quote(calls)}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n" +
            "fp32 = sys.argv[5] == 'float32'\n" +
            "print('round 0 (%s): bare %.1f ms; pgd step (marginal) %.1f ms; whole 20-step attack 400 ms' % (sys.argv[5], 10.0 if fp32 else 5.0, 20.0 if fp32 else 8.0))\n");

        var (code, stdout, error) = Run(["bench", "--precision", "fp32,bf16", "--batch", "1", "--rounds", "2", "--peer", script]);
        TestContext.Out.WriteLine(stdout);
        Assert.That(code, Is.EqualTo(0), error);
        string threads = get_num_threads().ToString(CultureInfo.InvariantCulture);
        Assert.That(File.ReadAllLines(calls), Is.EqualTo(new[]
        {
            $"1 20 {threads} 1 float32", $"1 20 {threads} 1 bfloat16",
            $"1 20 {threads} 1 float32", $"1 20 {threads} 1 bfloat16",
        }), "after each of the 2 rounds, once per precision, with the benchmark's batch, steps and threads");
        Assert.That(Figure(stdout, "PyTorch peer fp32: PGD step (marginal)"), Is.EqualTo(20.0).Within(1e-9));
        Assert.That(Figure(stdout, "PyTorch peer bf16: bare forward+input-backward"), Is.EqualTo(5.0).Within(1e-9));
        Assert.That(Figure(stdout, "PyTorch peer bf16 / fp32: PGD step"), Is.EqualTo(0.4).Within(1e-9));
        // Repro's own step over the stand-in's 20 ms: whatever this machine takes, it is Repro's median step / 20 ms.
        double reproStep = Figure(stdout, "fp32: PGD step (marginal)");
        Assert.That(Figure(stdout, "fp32 PGD step, Repro / PyTorch peer"), Is.EqualTo(reproStep / 20.0).Within(0.002),
            "the stand-in takes 20 ms every round, so the median ratio is the median step / 20 ms (both printed to 3 decimals)");
    }

    [Test]
    public void WithoutAPrecisionListThePeerRunsInFloat32AfterEachRoundOfTheWholeBenchmark()
    {
        RequirePython();
        string folder = StandInFolder(), calls = Path.Combine(folder, "calls.txt");
        string script = Write(folder, "peer.py",
            "import sys\n" +
            $"open({Quote(calls)}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n" +
            "print('round 0 (float32): bare 30.0 ms; pgd step (marginal) 25.5 ms; whole 20-step attack 510 ms')\n");
        var (code, stdout, error) = Run(["bench", "--batch", "1", "--rounds", "2", "--leak-steps", "0", "--compare", "none", "--peer", script]);
        TestContext.Out.WriteLine(stdout);
        Assert.That(code, Is.EqualTo(0), error);
        string threads = get_num_threads().ToString(CultureInfo.InvariantCulture);
        Assert.That(File.ReadAllLines(calls), Is.EqualTo(new[] { $"1 20 {threads} 1 float32", $"1 20 {threads} 1 float32" }));
        Assert.That(Figure(stdout, "PyTorch peer fp32: bare forward+input-backward"), Is.EqualTo(30.0).Within(1e-9));
        Assert.That(Figure(stdout, "PyTorch peer fp32: PGD step (marginal)"), Is.EqualTo(25.5).Within(1e-9));
        Assert.That(stdout, Does.Contain("fp32 PGD step, Repro / PyTorch peer"));
        Assert.That(stdout, Does.Not.Contain("bf16"), "no other precision was asked for");
    }

    [Test]
    public void APeerThatImportsTorchvisionIsCheckedForItToo()
    {
        RequirePython();
        string script = Write(StandInFolder(), "peer.py", "import sys, torch\nimport torchvision\nprint('never run')\n");
        var (code, stdout, error) = Run(["bench", "--peer", script]);
        Assert.That(code, Is.EqualTo(4), error);
        Assert.That(error, Does.Contain("cannot import torch, torchvision").And.Contain("torchvision"));
        Assert.That(stdout, Does.Not.Contain("self-check"), "refused before any model was loaded or checked");
    }

    [Test]
    public void APeerThatFailsStopsTheBenchWithItsLastErrorLine()
    {
        if (!AttackPrecisions.Supported(AttackPrecision.BFloat16, CPU, out var reason)) Assert.Ignore($"NOT RUN — no bf16 kernels here: {reason}");
        RequirePython();
        string script = Write(StandInFolder(), "peer.py",
            "import sys\nsys.stderr.write('Traceback (most recent call last):\\nModuleNotFoundError: No module named \\'torch\\'\\n')\nsys.exit(1)\n");
        var (code, _, error) = Run(["bench", "--precision", "fp32,bf16", "--batch", "1", "--rounds", "1", "--peer", script]);
        Assert.That(code, Is.EqualTo(4), "an environment fault");
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain("--peer").And.Contain("exit code 1").And.Contain("No module named 'torch'"));
    }

    [TestCase("a missing script", "no such file")]
    [TestCase("with --model", "cannot be compared with --model")]
    public void APeerThatCannotRunIsRefusedBeforeAnyModelLoads(string what, string message)
    {
        string folder = TestData.TempFolder();
        string[] args = what == "a missing script"
            ? ["bench", "--peer", Path.Combine(folder, "no-peer.py")]
            : ["bench", "--peer", Write(folder, "peer.py", "print('x')\n"), "--model", Path.Combine(folder, "no-such-model.onnx")];
        var (code, stdout, error) = Run(args);
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain("--peer").And.Contain(message));
        Assert.That(stdout, Does.Not.Contain("self-check"), "refused before any model was loaded or checked");
    }

    [Test]
    public void APeerWhoseInterpreterCannotImportTorchIsRefusedBeforeAnyModelLoads()
    {
        // The script's #! line names the interpreter; this one fails as a Python without PyTorch would. No Python is needed.
        string folder = TestData.TempFolder();
        string fake = Write(folder, "python-without-torch", "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string script = Write(folder, "peer.py", $"#!{fake}\nprint('never run')\n");
        var (code, stdout, error) = Run(["bench", "--peer", script]);
        Assert.That(code, Is.EqualTo(4), error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain(fake).And.Contain("cannot import torch").And.Contain("No module named 'torch'"));
        Assert.That(stdout, Does.Not.Contain("self-check"), "refused before any model was loaded or checked");
    }

    /// <summary>A folder for a stand-in peer with an empty torch.py, so that the import check passes without PyTorch.</summary>
    static string StandInFolder()
    {
        string folder = TestData.TempFolder();
        Write(folder, "torch.py", "");
        return folder;
    }

    static void RequirePython()
    {
        bool found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "python3")));
        if (!found) Assert.Ignore("NOT RUN — no python3 on PATH to run the stand-in peer");
    }

    static string Write(string folder, string name, string text)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    static string Quote(string path) => "'" + path.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    /// <summary>The value of the figure named <paramref name="name"/> in bench's table (name, value, unit, target, verdict).</summary>
    static double Figure(string stdout, string name)
    {
        var line = stdout.Split('\n').SingleOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal) && l.Length > 58 && string.IsNullOrWhiteSpace(l[name.Length..58]))
                   ?? throw new AssertionException($"no figure '{name}' in:\n{stdout}");
        string value = line[58..].TrimStart().Split(' ')[0];
        return double.Parse(value.TrimEnd('x', 'm', 's'), CultureInfo.InvariantCulture);
    }
}
