using System.Diagnostics;
using Repro.Application;
using Repro.Cli;
using Repro.Data;
using Repro.Explain;
using Repro.Tests.Unit.Models.Formats;
using Repro.Tests.Unit.Support;
using SkiaSharp;
using static Repro.Tests.Unit.Support.OwnImageCases;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// The issue's reproductions through the commands themselves (robustness, explain, bench, eval, run,
/// attack): each bad argument gives exit 2 and one line naming it, before any model loads (the cases
/// whose argument alone decides run with a model that does not exist, so reaching the model would fail
/// otherwise), and nothing is left in --out. Explain end to end on the small TorchScript fixture (whole
/// input names, escaped table, output-folder policy); robustness on the committed CIFAR model (macOS
/// metadata); memory and file-size limits in child processes with small bounds.
/// </summary>
[NonParallelizable]
public class EveryCommandPolicyTests
{
    static (int Code, string Output, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        var output = new StringWriter();
        var (previousError, previousOutput) = (Console.Error, Console.Out);
        Console.SetError(error);
        Console.SetOut(output);
        try { return (ReproCommand.Run(args), output.ToString(), error.ToString()); }
        finally
        {
            Console.SetError(previousError);
            Console.SetOut(previousOutput);
        }
    }

    /// <summary>Exactly one line on stderr, no stack trace.</summary>
    static string OneLine(string error)
    {
        TestContext.Out.WriteLine(error);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), "one line on stderr");
        Assert.That(error, Does.Not.Contain("   at ").And.Not.Contain("internal error"));
        return lines[0];
    }

    static string Out() => Path.Combine(TestData.TempFolder(), "out");

    static string[] Entries(string folder) =>
        Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal).ToArray() : [];

    static string Photos(params string[] names)
    {
        string folder = TestData.TempFolder();
        for (int i = 0; i < names.Length; i++) File.WriteAllBytes(Path.Combine(folder, names[i]), Encode(Photo(40, 32, i + 1), SKEncodedImageFormat.Jpeg));
        return folder;
    }

    /// <summary>A model file that does not exist: a check that runs only after loading would fail naming it instead.</summary>
    static string NoModel => Path.Combine(TestData.TempFolder(), "no-such-model.onnx");

    static string TorchScript => Path.Combine(Fixture.Folder("torchscript"), "traced.pt");

    /// <summary>Each case: the command line (with {out} for a fresh --out and {images} for a folder of two photos) and what the one line must name.</summary>
    static IEnumerable<TestCaseData> RefusedBeforeAnyModel()
    {
        string[] robustness = ["robustness", "--model", "{model}", "--n", "2", "--attacks", "pgd"];
        TestCaseData Case(string name, string named, params string[] args) => new TestCaseData(args, named).SetName($"{{m}}({name})");
        yield return Case("robustness --threads 100000", "--threads", [.. robustness, "--threads", "100000"]);
        yield return Case("attack --threads cores+1", "--threads", "attack", "--model", "{model}", "--images", "{images}", "--threads", $"{Environment.ProcessorCount + 1}");
        yield return Case("bench --batch -1", "--batch must be >= 1", "bench", "--rounds", "1", "--leak-steps", "0", "--compare", "none", "--batch", "-1");
        yield return Case("bench --batch 0", "--batch must be >= 1", "bench", "--rounds", "1", "--leak-steps", "0", "--compare", "none", "--batch", "0");
        yield return Case("bench --batch huge", "--batch 2000000000", "bench", "--rounds", "1", "--leak-steps", "0", "--compare", "none", "--batch", "2000000000");
        yield return Case("bench --leak-steps -1", "--leak-steps", "bench", "--leak-steps", "-1");
        yield return Case("eval --batch 0", "--batch must be >= 1", "eval", "--model", "{model}", "--batch", "0");
        yield return Case("robustness --eps 1e39", "'1e39'", [.. robustness, "--eps", "1,100,1e39"]);
        yield return Case("robustness --eps 1e-300", "too small", [.. robustness, "--eps", "1e-300"]);
        yield return Case("robustness --batch 0", "--batch", [.. robustness, "--batch", "0"]);
        yield return Case("robustness --n 0", "--n", [.. robustness, "--n", "0"]);
        yield return Case("explain --sigma 1e400", "--sigma", "explain", "--model", "{model}", "--images", "{images}", "--method", "smoothgrad", "--sigma", "1e400");
        yield return Case("explain --sigma 1e39", "--sigma", "explain", "--model", "{model}", "--images", "{images}", "--method", "smoothgrad", "--sigma", "1e39");
        yield return Case("explain --step-size 1e400", "--step-size", "explain", "--model", "{model}", "--images", "{images}", "--method", "featviz", "--step-size", "1e400");
        yield return Case("explain --component -1", "--component", "explain", "--model", "{model}", "--images", "{images}", "--method", "featviz", "--component", "-1");
        yield return Case("explain --samples 0", "--samples", "explain", "--model", "{model}", "--images", "{images}", "--samples", "0");
        yield return Case("explain --out = --images", "is the --images folder", "explain", "--model", "{model}", "--images", "{images}", "--out", "{images}");
        yield return Case("attack --out = --images", "is the --images folder", "attack", "--model", "{model}", "--images", "{images}", "--out", "{images}");
        yield return Case("explain --images a file", "is a file, not a folder", "explain", "--model", "{model}", "--images", "{file}");
        yield return Case("robustness --images a file", "is a file, not a folder", [.. robustness, "--images", "{file}"]);
        yield return Case("attack --images a file", "is a file, not a folder", "attack", "--model", "{model}", "--images", "{file}");
        foreach (var (name, args) in new (string, string[])[]
                 {
                     ("robustness", robustness), ("explain", ["explain", "--model", "{model}", "--images", "{images}"]),
                     ("attack", ["attack", "--model", "{model}", "--images", "{images}"]), ("run", ["run", "claim-1-goldfish", "--offline"]),
                 })
        {
            yield return Case($"{name} --out ''", "--out is empty", [.. args, "--out", ""]);
            yield return Case($"{name} --out /", "root folder", [.. args, "--out", "/"]);
            yield return Case($"{name} --out /proc/x", "system folder /proc", [.. args, "--out", "/proc/x"]);
            yield return Case($"{name} --out a file", "is a file", [.. args, "--out", "{file}"]);
            yield return Case($"{name} --out not empty", "--overwrite", [.. args, "--out", "{full}"]);
            yield return Case($"{name} --out with a killed run's staging", ".staging-", [.. args, "--out", "{killed}"]);
        }
    }

    [TestCaseSource(nameof(RefusedBeforeAnyModel))]
    public void RefusedBeforeAnyModelLoads(string[] args, string named)
    {
        if (OperatingSystem.IsWindows() && args.Any(a => a.StartsWith('/'))) TestData.NotRun("POSIX paths");
        string output = Out();
        string images = Photos("a.jpg", "b.jpg");
        string file = Path.Combine(TestData.TempFolder(), "file.jpg");
        File.WriteAllBytes(file, File.ReadAllBytes(Path.Combine(images, "a.jpg")));
        string full = TestData.TempFolder();
        File.WriteAllText(Path.Combine(full, "robustness.tsv"), "an earlier run");
        string killed = TestData.TempFolder();
        Directory.CreateDirectory(Path.Combine(killed, ".staging-00112233445566778899aabbccddeeff"));
        var expanded = args.Select(a => a.Replace("{model}", NoModel).Replace("{images}", images).Replace("{file}", file).Replace("{full}", full).Replace("{killed}", killed)).ToList();
        if (!expanded.Contains("--out")) expanded.AddRange(["--out", output]);
        expanded.AddRange(["--data", TestData.Paths.DataRoot, "--models", TestData.TempFolder()]);

        var clock = Stopwatch.StartNew();
        var (code, _, error) = Run([.. expanded]);
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput), error);
        string line = OneLine(error);
        Assert.That(line, Does.Contain(named));
        Assert.That(line, Does.Not.Contain("no-such-model"), "refused before the model is looked at");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "before any work");
        Assert.That(Entries(output), Is.Empty, "nothing written");
        Assert.That(Entries(images), Is.EqualTo(new[] { "a.jpg", "b.jpg" }), "the photos are untouched");
        Assert.That(Entries(full), Is.EqualTo(new[] { "robustness.tsv" }), "an earlier run's results are untouched");
        Assert.That(Entries(killed), Is.EqualTo(new[] { ".staging-00112233445566778899aabbccddeeff" }), "without --overwrite nothing is removed");
    }

    static string[] Explain(string images, string output, params string[] more) =>
        ["explain", "--model", TorchScript, "--input-size", "16", "--images", images, "--out", output, "--samples", "2", .. more];

    /// <summary>a.jpg and a.jpeg both get their maps (named by the whole input name); names with a tab, a backslash and a newline are escaped in explain.tsv.</summary>
    [Test]
    public void ExplainKeepsWholeNamesAndEscapesItsTable()
    {
        if (OperatingSystem.IsWindows()) TestData.NotRun("file names with tabs and newlines are POSIX-only");
        string images = Photos("a.jpg", "a.jpeg", "tab\there.jpg", "back\\slash.jpg", "new\nline.jpg");
        WriteLitter(images);
        string output = Out();
        var (code, stdout, error) = Run(Explain(images, output, "--method", "gradient"));
        TestContext.Out.WriteLine(stdout);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(OneLine(error), Does.Contain("._IMG_0001.jpg").And.Contain(".DS_Store").And.Contain("notes.txt"), "litter skipped and named");
        Assert.That(Entries(output), Is.EqualTo(new[]
        {
            "a.jpeg.gradient.png", "a.jpg.gradient.png", "back\\slash.jpg.gradient.png", "explain.png", "explain.tsv", "new\nline.jpg.gradient.png", "tab\there.jpg.gradient.png",
        }.Order(StringComparer.Ordinal)));
        var lines = File.ReadAllText(Path.Combine(output, FolderExplanation.Table)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(6), "header and one row per image");
        Assert.That(lines.Select(l => Tsv.Split(l)).All(f => f.Length == FolderExplanation.Columns.Length), Is.True, "every row has every column");
        Assert.That(lines.Skip(1).Select(l => Tsv.Split(l)[0]), Is.EquivalentTo(new[] { "a.jpg", "a.jpeg", "tab\there.jpg", "back\\slash.jpg", "new\nline.jpg" }));
    }

    /// <summary>A second explain into the same --out is refused; --overwrite replaces the results and removes what a killed run left.</summary>
    [Test]
    public void ExplainFollowsTheOutputFolderPolicy()
    {
        string first = Photos("a.jpg", "b.jpg");
        string output = Out();
        Assert.That(Run(Explain(first, output, "--method", "gradient")).Code, Is.EqualTo(0));
        string second = Photos("c.png");
        var (code, _, error) = Run(Explain(second, output, "--method", "gradient"));
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(OneLine(error), Does.Contain("not empty").And.Contain("--overwrite"));
        Directory.CreateDirectory(Path.Combine(output, ".staging-00112233445566778899aabbccddeeff"));
        var (overwritten, _, note) = Run(Explain(second, output, "--method", "gradient", "--overwrite"));
        Assert.That(overwritten, Is.EqualTo(0), note);
        Assert.That(note, Does.Contain("removed .staging-00112233445566778899aabbccddeeff/"));
        Assert.That(Entries(output), Is.EqualTo(new[] { "c.png.gradient.png", "explain.png", "explain.tsv" }), "only the second run's results");
    }

    /// <summary>
    /// A --component the representation does not have is refused after the model, before any image is read
    /// (a broken image first in the folder would otherwise fail first), naming --component; nothing is written.
    /// </summary>
    [Test]
    public void ExplainChecksTheComponentBeforeAnyImage()
    {
        string images = Photos("b.jpg");
        File.WriteAllBytes(Path.Combine(images, "a.jpg"), [0xFF, 0xD8, 0xFF]);
        string output = Out();
        using var model = new Repro.Models.SmallResNet();
        model.eval();
        var prepared = CommandPolicy.OutputFolder(output, false, FolderExplanation.IsOwnResult);
        var e = Assert.Throws<ReproArgumentException>(() => FolderExplanation.Run(model, ["cat", "airplane"], images, 32,
            new ExplanationOptions { Kinds = ExplanationKinds.FeatureVisualisation, Component = 100000, Steps = 1 }, prepared))!;
        Assert.That(e.ParamName, Is.EqualTo("options.Component"));
        Assert.That(e.Message, Does.StartWith("options.Component: 100000").And.Contain("64 components"), "the library names its setting");
        Assert.That(SettingFlags.Rename(e, ExplainCommand.Flags).Message, Does.StartWith("--component: 100000").And.Contain("64 components"), "the command names its flag");
        Assert.That(Directory.Exists(output), Is.False, "nothing written");
    }

    /// <summary>The issue's macOS zip: class folders with ._* companions and a __MACOSX/ tree; robustness skips and names them.</summary>
    [Test]
    public void RobustnessSkipsAndNamesMacOsMetadata()
    {
        string images = TestData.TempFolder();
        foreach (var c in new[] { "cat", "airplane" })
        {
            Directory.CreateDirectory(Path.Combine(images, c));
            Directory.CreateDirectory(Path.Combine(images, "__MACOSX", c));
            File.WriteAllBytes(Path.Combine(images, c, "0001.png"), Encode(Photo(32, 32, c.Length), SKEncodedImageFormat.Png));
            File.WriteAllBytes(Path.Combine(images, c, "._0001.png"), new byte[4096]);
            File.WriteAllBytes(Path.Combine(images, "__MACOSX", c, "._0001.png"), new byte[4096]);
        }
        string output = Out();
        var (code, stdout, error) = Run("robustness", "--model", "cifar-standard", "--n", "2", "--attacks", "pgd", "--eps", "0.5", "--images", images, "--out", output,
            "--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot);
        TestContext.Out.WriteLine(stdout);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(OneLine(error), Does.Contain("__MACOSX/").And.Contain("cat/._0001.png").And.Contain("airplane/._0001.png"));
        Assert.That(stdout, Does.Contain("2 images from"));
        Assert.That(Entries(output), Is.EqualTo(new[] { "manifest.json", "records.parquet", "robustness.html", "robustness.png", "robustness.tsv" }));
    }

    static (int Code, string Output, string Error) Child(string wrapper, string[] wrapperArgs, params string[] args)
    {
        var start = ReproProcess.StartInfo(new Dictionary<string, string?> { ["DOTNET_EnableWriteXorExecute"] = "0" }, args);
        var wrapped = new ProcessStartInfo(wrapper) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in wrapperArgs) wrapped.ArgumentList.Add(a);
        wrapped.ArgumentList.Add(start.FileName);
        foreach (var a in start.ArgumentList) wrapped.ArgumentList.Add(a);
        foreach (var (k, v) in start.Environment) wrapped.Environment[k] = v;
        using var process = Process.Start(wrapped)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>Lines of stderr that are Repro's (libtorch prints "[W ...]" warnings of its own).</summary>
    static string Ours(string error) => string.Join('\n', error.Split('\n').Where(l => !l.StartsWith("[W")));

    /// <summary>
    /// Under an address-space limit (prlimit --as, 6 GB: libtorch loads, a PGD batch of 2,000 CIFAR images does
    /// not fit) the malloc tuning gives way, says so, and the allocation failure ends with exit 4 and one line,
    /// not an abort (exit 134); nothing is left in --out.
    /// </summary>
    [Test]
    public void AnAddressSpaceLimitEndsWithExitFourAndOneLine()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/prlimit")) TestData.NotRun("needs Linux and prlimit (util-linux)");
        TestData.Require("cifar10");
        string output = Out();
        var (code, stdout, error) = Child("/usr/bin/prlimit", ["--as=6000000000"], "robustness", "--model", "cifar-standard", "--n", "2000", "--batch", "2000",
            "--attacks", "pgd", "--eps", "0.5", "--out", output, "--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot);
        TestContext.Out.WriteLine($"exit {code}\n{error}");
        Assert.That(code, Is.EqualTo(ExitCodes.EnvironmentFault), "exit 4, not an abort (134)");
        Assert.That(OneLine(Ours(error)), Does.Contain("out of memory").Or.Contain("could not be loaded"));
        Assert.That(stdout, Does.Contain("malloc tuning off: an address-space limit"));
        Assert.That(Directory.Exists(output), Is.False, "nothing left");
    }

    /// <summary>
    /// A file-size limit (ulimit -f: 8 KB, under explain's 15 KB grid; 40 KB, under robustness's report), SIGXFSZ left as the
    /// shell leaves it, ends explain and robustness with exit 4, one line, nothing left.
    /// </summary>
    [TestCase("explain")]
    [TestCase("robustness")]
    public void AFileSizeLimitEndsWithExitFourAndLeavesNothing(string command)
    {
        if (!OperatingSystem.IsLinux()) TestData.NotRun("needs ulimit -f (POSIX shell)");
        string output = Out();
        string[] args = command == "explain"
            ? Explain(Photos("a.jpg", "b.jpg"), output, "--method", "gradient")
            : ["robustness", "--model", "cifar-standard", "--n", "2", "--attacks", "pgd", "--eps", "0.5", "--out", output, "--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot];
        if (command == "robustness") TestData.Require("cifar10");
        // CoreCLR's W^X double mapping needs files larger than the limit: off for the child (Child sets DOTNET_EnableWriteXorExecute=0).
        var (code, _, error) = Child("bash", ["-c", $"ulimit -f {(command == "explain" ? 8 : 40)}; exec \"$0\" \"$@\""], args);
        TestContext.Out.WriteLine($"exit {code}\n{error}");
        Assert.That(code, Is.EqualTo(ExitCodes.EnvironmentFault), "exit 4, not SIGXFSZ (153)");
        Assert.That(OneLine(Ours(error)), Does.Contain("file too large"));
        Assert.That(Directory.Exists(output), Is.False, "nothing left, not even the output folder the run created");
    }
}
