using System.Diagnostics;
using Repro.Application;
using Repro.Attacks;
using Repro.Cli;
using Repro.Data;
using Repro.Tests.Unit.Support;
using SkiaSharp;
using static Repro.Tests.Unit.Support.OwnImageCases;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// <c>repro attack</c> and <c>repro eval</c> on users' own folders, end to end with the offline
/// MobileNetV2 (REPRO_MODELS; the test fails naming the setting when it is absent): the shared
/// cases, budgets that are not numbers, output-folder policy, and every kind of failure as one line
/// on stderr with its exit code (2 input, 4 environment) and nothing half-written.
/// </summary>
[NonParallelizable]
public class AttackCommandTests
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

    static string[] Roots(string output)
    {
        var mobilenet = Repro.Models.ModelRegistry.Get("mobilenet_v2");
        if (!mobilenet.IsPresent(TestData.Paths.ModelRoot))
            TestData.NotRun($"MobileNetV2 not present: {mobilenet.HowToGet(TestData.Paths.ModelRoot)} (or set {ReproPaths.ModelVariable} to a model root that has it)");
        TestData.Require("imagenet/synset_words.txt");
        return ["--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot, "--out", output];
    }

    static string[] Attack(string images, string output, params string[] more) =>
        ["attack", "--model", "mobilenet_v2", "--images", images, "--steps", "1", .. Roots(output), .. more];

    static string Out() => Path.Combine(TestData.TempFolder(), "out");

    static string[] Entries(string folder) =>
        Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal).ToArray() : [];

    /// <summary>Exactly one line on stderr, no stack trace.</summary>
    static string OneLine(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        TestContext.Out.WriteLine(error);
        Assert.That(lines, Has.Length.EqualTo(1), "one line on stderr");
        Assert.That(error, Does.Not.Contain("   at ").And.Not.Contain("Unhandled exception"));
        return lines[0];
    }

    static void AddPhoto(string folder, string name, int seed = 1) =>
        File.WriteAllBytes(Path.Combine(folder, name), Encode(Photo(300, 240, seed), SKEncodedImageFormat.Jpeg));

    [Test]
    public void TheSharedTruncatedFilesAreRefusedWithExitTwo()
    {
        string images = Folder("s03-trunc");
        string output = Out();
        var (code, _, error) = Run(Attack(images, output));
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(OneLine(error), Does.Contain(Path.Combine(images, "trunc60.jpg")).And.Contain("incomplete"));
        Assert.That(Entries(output), Is.Empty);
    }

    [Test]
    public void WithSkipBadTheTruncatedFilesAreListedAndTheRestAttacked()
    {
        string images = Folder("s03-trunc");
        AddPhoto(images, "good.jpg");
        string output = Out();
        var (code, stdout, error) = Run(Attack(images, output, "--skip-bad"));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(OneLine(error), Does.Contain("trunc60.jpg (incomplete").And.Contain("trunc60.png (incomplete"));
        Assert.That(Entries(output), Is.EqualTo(new[] { "attack.tsv", "good.jpg.adv.png" }));
        TestContext.Out.WriteLine(stdout);
    }

    /// <summary>The shared litter case plus a photo: the photo is attacked, the litter named in one line, exit 0.</summary>
    [Test]
    public void TheSharedLitterIsSkippedAndNamedInOneLine()
    {
        string images = Folder("s12-litter");
        AddPhoto(images, "IMG_0001.jpg");
        string output = Out();
        var (code, _, error) = Run(Attack(images, output));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(OneLine(error), Does.Contain("._IMG_0001.jpg").And.Contain(".DS_Store").And.Contain("notes.txt"));
        Assert.That(Entries(output), Is.EqualTo(new[] { "IMG_0001.jpg.adv.png", "attack.tsv" }));
    }

    /// <summary>The issue's case: --eps Infinity --random-start --norm linf gave a NaN row and a black PNG; now it is the unconstrained attack, said so.</summary>
    [Test]
    public void InfiniteEpsIsTheUnconstrainedAttackAndSaysSo()
    {
        string images = Folder("s01-clash");
        string output = Out();
        var (code, stdout, error) = Run(Attack(images, output, "--eps", "Infinity", "--random-start", "--norm", "linf", "--step-size", "0.01"));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(stdout, Does.Contain("unconstrained"));
        string table = File.ReadAllText(Path.Combine(output, FolderAttack.Table));
        TestContext.Out.WriteLine(table);
        Assert.That(table, Does.Not.Contain("NaN"));
        using var written = ImageFile.Load(Path.Combine(output, "cat.jpg.adv.png"));
        Assert.That(written.mean().item<float>(), Is.GreaterThan(0.1f), "not a black image");
    }

    [TestCase("--step-size", "1e400", "--step-size")]
    [TestCase("--step-size", "inf", "--step-size")]
    [TestCase("--step-size", "NaN", "--step-size")]
    [TestCase("--eps", "NaN", "--eps")]
    [TestCase("--eps", "1e400", "--eps inf")]
    [TestCase("--eps", "-inf", "--eps")]
    [TestCase("--eps", "1e-50", "too small")]
    [TestCase("--eps", "abc", "--eps")]
    [TestCase("--max-pixels", "0", "--max-pixels")]
    [TestCase("--steps", "-3", "--steps")]
    public void BudgetsThatAreNotUsableNumbersAreRefused(string option, string value, string named)
    {
        string output = Out();
        var (code, _, error) = Run(Attack(Folder("s01-clash"), output, option, value));
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(OneLine(error), Does.Contain(named));
        Assert.That(Entries(output), Is.Empty);
    }

    /// <summary>The issue's stale-output case through the command: a non-empty --out is refused, --overwrite replaces the earlier results.</summary>
    [Test]
    public void ANonEmptyOutIsRefusedUnlessOverwrite()
    {
        string output = Out();
        string first = TestData.TempFolder();
        AddPhoto(first, "a.jpg", 1);
        AddPhoto(first, "b.jpg", 2);
        Assert.That(Run(Attack(first, output)).Code, Is.EqualTo(0));
        string second = TestData.TempFolder();
        AddPhoto(second, "c.jpg", 3);
        var (code, _, error) = Run(Attack(second, output));
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(OneLine(error), Does.Contain("--out").And.Contain("--overwrite"));
        Assert.That(Run(Attack(second, output, "--overwrite")).Code, Is.EqualTo(0));
        Assert.That(Entries(output), Is.EqualTo(new[] { "attack.tsv", "c.jpg.adv.png" }));
    }

    /// <summary>An output folder inside the system's own trees (sysfs here) is refused before any work: exit 2, one line naming it (CommandPolicy.SystemFolder).</summary>
    [Test]
    public void AnOutputFolderInsideASystemFolderIsRefused()
    {
        string output = "/sys/repro-cannot-write-here/out";
        var (code, _, error) = Run(Attack(Folder("s01-clash"), output));
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(OneLine(error), Does.Contain(output).And.Contain("system folder /sys"));
    }

    /// <summary>
    /// A disk that fills up while the PNGs are written: exit 4, one line saying so and naming the file,
    /// and nothing left in the output folder. A real full disk: a 64 KB tmpfs where this machine allows
    /// mounting (root), otherwise the same command in a child process whose file-size limit (ulimit -f)
    /// makes the write fail with EFBIG.
    /// </summary>
    [Test]
    public void AFullDiskIsAnEnvironmentFaultAndLeavesNothing()
    {
        string images = TestData.TempFolder();
        for (int i = 0; i < 3; i++) AddPhoto(images, $"{i}.jpg", i);
        string mount = TestData.TempFolder();
        // REPRO_TEST_NO_MOUNT=1 takes the second way on a machine that could mount.
        if (Environment.GetEnvironmentVariable("REPRO_TEST_NO_MOUNT") is null && Shell($"mount -t tmpfs -o size=64k tmpfs '{mount}'").Code == 0)
        {
            try
            {
                TestContext.Out.WriteLine($"a 64 KB tmpfs at {mount}");
                string output = Path.Combine(mount, "out");
                var (code, _, error) = Run(Attack(images, output));
                Assert.That(code, Is.EqualTo(ExitCodes.EnvironmentFault));
                Assert.That(OneLine(error), Does.Contain("No space left on device").And.Contain(output));
                Assert.That(Entries(output), Is.Empty, "nothing half-written");
            }
            finally { Shell($"umount '{mount}'"); }
        }
        else
        {
            string output = Path.Combine(mount, "out");
            string args = string.Join(' ', Attack(images, output).Select(a => $"'{a}'"));
            // CoreCLR's W^X double mapping needs files larger than the limit; turn it off for the child.
            // The command's own launcher beside the tests (as ReproProcess runs it): no need for dotnet on PATH.
            string host = Path.Combine(AppContext.BaseDirectory, "Repro.Cli");
            string command = File.Exists(host) ? $"'{host}'" : $"dotnet '{Path.Combine(AppContext.BaseDirectory, "Repro.Cli.dll")}'";
            var (code, error) = Shell($"trap '' XFSZ; ulimit -f 40; DOTNET_EnableWriteXorExecute=0 {command} {args}");
            TestContext.Out.WriteLine("no tmpfs here: a child process with ulimit -f 40 (40 KB)");
            Assert.That(code, Is.EqualTo(ExitCodes.EnvironmentFault));
            // libtorch's own "[W ...]" warnings are not Repro's lines.
            Assert.That(OneLine(string.Join('\n', error.Split('\n').Where(l => !l.StartsWith("[W")))), Does.Contain("file too large").And.Contain(output));
            Assert.That(Entries(output), Is.Empty, "nothing half-written");
        }
    }

    static (int Code, string Error) Shell(string command)
    {
        var info = new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }

    /// <summary>eval reads through the same decoder: a truncated validation image stops it with exit 2 naming the file (no silent black remainder).</summary>
    [Test]
    public void EvalRefusesATruncatedValidationImage()
    {
        string data = TestData.TempFolder();
        string imagenet = Path.Combine(data, "imagenet");
        string val = Path.Combine(imagenet, "val", "n01440764");
        Directory.CreateDirectory(val);
        File.Copy(TestData.Require("imagenet/synset_words.txt"), Path.Combine(imagenet, "synset_words.txt"));
        AddPhoto(val, "good.JPEG");
        File.WriteAllBytes(Path.Combine(val, "._good.JPEG"), new byte[4096]);
        File.WriteAllBytes(Path.Combine(val, "cut.JPEG"), Truncate(Encode(Photo(300, 240, 9), SKEncodedImageFormat.Jpeg), 0.6));
        string[] roots = Roots(Out());
        var (code, _, error) = Run(["eval", "--model", "mobilenet_v2", "--data", data, "--models", roots[3]]);
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(OneLine(error), Does.Contain(Path.Combine(val, "cut.JPEG")).And.Contain("incomplete"));

        File.Delete(Path.Combine(val, "cut.JPEG"));
        var (ok, stdout, okError) = Run(["eval", "--model", "mobilenet_v2", "--data", data, "--models", roots[3]]);
        Assert.That(ok, Is.EqualTo(0), okError);
        Assert.That(stdout, Does.Contain("on 1 validation images"), "the AppleDouble companion is not a validation image");
    }

    [Test]
    public void HelpStatesThePolicies()
    {
        var (code, stdout, _) = Run("attack", "--help");
        Assert.That(code, Is.EqualTo(0));
        TestContext.Out.WriteLine(stdout);
        Assert.That(stdout, Does.Contain("composited on white").And.Contain("--skip-bad").And.Contain("--overwrite").And.Contain("--max-pixels")
            .And.Contain("EXIF orientation").And.Contain(".adv.png").And.Contain("escaped"));
    }
}
