using Repro.Cli;
using Repro.Data;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// Bad input gets exit code 2, one line naming the culprit, and no partial output; missing data
/// makes claims NOT RUN (exit code 3 when none could run); a good attack writes its images and
/// table. Every run here is offline (test.runsettings sets REPRO_OFFLINE=1; some pass --offline too).
/// </summary>
[NonParallelizable]
public class ReproCommandTests
{
    static (int Code, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try { return (ReproCommand.Run(args), error.ToString()); }
        finally { Console.SetError(previous); }
    }

    static string[] Roots(string output) =>
        ["--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot, "--out", output];

    static void AssertNothingWritten(string output) =>
        Assert.That(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : [], Is.Empty, "no partial output");

    static string ImagesFolder(int count)
    {
        TestData.Require("imagenet/val");
        string dir = TestData.TempFolder();
        var sources = Directory.GetFiles(Path.Combine(TestData.Paths.DataRoot, "imagenet", "val"), "*.JPEG", SearchOption.AllDirectories).Order().Take(count);
        foreach (var f in sources) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>
    /// Missing data is not bad input: every claim of the experiment is reported NOT RUN with the
    /// missing root and the command that fetches it, the report is written, and the exit code says
    /// that nothing could run.
    /// </summary>
    [Test]
    public void AMissingDataRootMakesEveryClaimNotRunWithItsFix()
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        string missing = Path.Combine(TestData.TempFolder(), "no-data-here");
        var (code, error) = Run(["run", "claim-1-goldfish", "--offline", "--data", missing, "--models", missing, "--out", output]);
        Assert.That(code, Is.EqualTo(ExitCodes.NothingRan), error);
        Assert.That(error, Does.Contain("no claim could run"));
        var claims = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(output, "claims.json")))!["claims"]!.AsArray();
        Assert.That(claims.Select(c => c!["verdict"]!.GetValue<string>()), Is.All.EqualTo("not run"));
        foreach (var c in claims)
        {
            Assert.That(c!["notRunReason"]!.GetValue<string>(), Does.Contain(missing).And.Contain("offline"));
            Assert.That(c["notRunFix"]!.GetValue<string>(), Does.Contain("repro fetch").And.Contain(missing));
        }
        Assert.That(File.Exists(Path.Combine(output, "report.html")), Is.True);
        Assert.That(Directory.Exists(missing) ? Directory.GetFileSystemEntries(missing) : [], Is.Empty, "offline: nothing fetched");
    }

    /// <summary>
    /// Attacking one's own photos needs only the model: the ImageNet class names ship with the
    /// product, so an empty data root is fine (synthetic images from tests/Unit/fixtures/own-images).
    /// </summary>
    [Test]
    public void AnAttackOnOwnPhotosNeedsOnlyTheModel()
    {
        Repro.Tests.Unit.Models.Tflite.MobileNetV2File.Require();
        string images = TestData.TempFolder();
        string fixtures = Path.Combine(ReproPaths.RepositoryRoot(), "tests", "Unit", "fixtures", "own-images");
        File.Copy(Path.Combine(fixtures, "cat.jpg"), Path.Combine(images, "photo-a.jpg"));
        File.Copy(Path.Combine(fixtures, "cat.png"), Path.Combine(images, "photo-b.png"));
        string emptyData = TestData.TempFolder();
        string output = Path.Combine(TestData.TempFolder(), "out");

        var (code, error) = Run(["attack", "--model", "mobilenet_v2", "--images", images, "--target", "goldfish", "--steps", "2", "--offline",
            "--data", emptyData, "--models", TestData.Paths.ModelRoot, "--out", output]);

        Assert.That(code, Is.EqualTo(0), error);
        var table = File.ReadAllLines(Path.Combine(output, "attack.tsv"));
        Assert.That(table, Has.Length.EqualTo(3));
        Assert.That(table[1..].Select(l => l.Split('\t')[0]), Is.EqualTo(new[] { "photo-a.jpg", "photo-b.png" }));
        Assert.That(Directory.GetFiles(output, "*.adv.png"), Has.Length.EqualTo(2));
        Assert.That(Directory.GetFileSystemEntries(emptyData), Is.Empty, "nothing read or written in the data root");
        TestContext.Out.WriteLine(string.Join(Environment.NewLine, table));
    }

    [Test]
    public void FetchListsEveryAssetAndRefusesToFetchOffline()
    {
        string root = TestData.TempFolder();
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int code;
        try { code = ReproCommand.Run(["fetch", "--list", "--data", root, "--models", root]); }
        finally { Console.SetOut(previous); }
        Assert.That(code, Is.EqualTo(0));
        foreach (var name in Repro.Data.Assets.AssetCatalogue.Names)
            Assert.That(output.ToString(), Does.Contain(name + "\tmissing"));

        var (offline, error) = Run(["fetch", "cifar10", "--offline", "--data", root, "--models", root]);
        Assert.That(offline, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--offline"));
        var (unknown, unknownError) = Run(["fetch", "imagenet-full", "--data", root, "--models", root]);
        Assert.That(unknown, Is.EqualTo(2));
        Assert.That(unknownError, Does.Contain("imagenet-full"));
        Assert.That(Directory.GetFileSystemEntries(root), Is.Empty);
    }

    [Test]
    public void ACorruptImageIsNamed()
    {
        string images = ImagesFolder(1);
        string bad = Path.Combine(images, "broken.jpg");
        File.WriteAllText(bad, "not an image");
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, error) = Run(["attack", "--model", "mobilenet_v2", "--images", images, "--steps", "1", .. Roots(output)]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(bad));
        AssertNothingWritten(output);
    }

    [TestCase("--model", "vgg99", "vgg99")]
    [TestCase("--target", "unicorn", "unicorn")]
    [TestCase("--eps", "0", "eps")]
    [TestCase("--eps", "-2", "eps")]
    [TestCase("--steps", "0", "steps")]
    [TestCase("--norm", "l3", "norm")]
    public void InvalidArgumentsAreNamed(string option, string value, string culprit)
    {
        string images = ImagesFolder(1);
        string output = Path.Combine(TestData.TempFolder(), "out");
        var args = new List<string> { "attack", "--model", "mobilenet_v2", "--images", images };
        args.AddRange(Roots(output));
        int at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value; else args.AddRange([option, value]);
        var (code, error) = Run([.. args]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(culprit));
        AssertNothingWritten(output);
    }

    [Test]
    public void AnUnwritableOutputFolderIsNamed()
    {
        string file = Path.Combine(TestData.TempFolder(), "a-file");
        File.WriteAllText(file, "");
        string output = Path.Combine(file, "out");
        var (code, error) = Run(["attack", "--model", "mobilenet_v2", "--images", ImagesFolder(1), "--steps", "1", .. Roots(output)]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(output));
    }

    [Test]
    public void UnknownCommandsAndExperimentsAreUsageErrors()
    {
        Assert.That(Run("frobnicate").Code, Is.EqualTo(2));
        var (code, error) = Run("run", "nope");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("nope"));
    }

    /// <summary>
    /// Every command takes --device cuda. Where no CUDA libtorch or GPU is present it is refused by
    /// name (exit 2, one line, nothing written), never replaced by the CPU; where one is, it is
    /// accepted and the command goes on to its next check (here: an unknown experiment, recipe or model).
    /// </summary>
    [TestCase("run", "no-such-experiment")]
    [TestCase("train", "no-such-recipe")]
    [TestCase("eval", "--model", "vgg99")]
    [TestCase("attack", "--model", "vgg99", "--images", ".")]
    public void CudaIsAcceptedAndRefusedByNameOnlyWhereItIsMissing(string command, params string[] arguments)
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, error) = Run([command, .. arguments, .. Roots(output), "--device", "cuda"]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
        if (TorchSharp.torch.cuda.is_available())
            Assert.That(error, Does.Contain(arguments.First(a => a.Contains("no-such") || a == "vgg99")).And.Not.Contain("--device"));
        else
            Assert.That(error, Does.Contain("--device cuda").And.Contain("no CUDA"));
        AssertNothingWritten(output);
    }

    /// <summary>An unknown device or scale is named, from the option or from the environment, before anything runs.</summary>
    [Test]
    public void AnUnknownDeviceOrScaleIsNamed()
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (deviceCode, deviceError) = Run(["eval", "--model", "mobilenet_v2", .. Roots(output), "--device", "tpu"]);
        Assert.That(deviceCode, Is.EqualTo(2));
        Assert.That(deviceError, Does.Contain("--device").And.Contain("tpu"));
        Assert.That(Run(["run", "claim-1-goldfish", .. Roots(output), "--scale", "huge"]).Error, Does.Contain("--scale").And.Contain("huge"));
        foreach (var (variable, value) in new[] { ("REPRO_DEVICE", "tpu"), ("REPRO_SCALE", "huge") })
        {
            string? previous = Environment.GetEnvironmentVariable(variable);
            Environment.SetEnvironmentVariable(variable, value);
            try
            {
                var (code, error) = Run(["run", "claim-1-goldfish", .. Roots(output)]);
                Assert.That(code, Is.EqualTo(2));
                Assert.That(error, Does.Contain(variable).And.Contain(value));
            }
            finally { Environment.SetEnvironmentVariable(variable, previous); }
        }
        AssertNothingWritten(output);
    }

    /// <summary>The report and claims.json say on which device, at which scale and with which TF32 setting the run was made.</summary>
    [TestCase(null)]
    [TestCase("full")]
    [TestCase("quick")]
    public void TheReportStatesDeviceScaleAndTf32(string? scale)
    {
        // Without --scale: REPRO_SCALE, else quick on the CPU.
        string? variable = Environment.GetEnvironmentVariable("REPRO_SCALE");
        string expected = scale ?? (string.IsNullOrEmpty(variable) ? "quick" : variable);
        string output = Path.Combine(TestData.TempFolder(), "out");
        string missing = Path.Combine(TestData.TempFolder(), "no-data-here");
        string[] scaleOption = scale is null ? [] : ["--scale", scale];
        var (code, error) = Run(["run", "claim-1-goldfish", "--offline", "--data", missing, "--models", missing, "--out", output, "--device", "cpu", .. scaleOption]);
        Assert.That(code, Is.EqualTo(ExitCodes.NothingRan), error);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(output, "claims.json")))!;
        Assert.That(json["scale"]!.GetValue<string>(), Is.EqualTo(expected));
        Assert.That(json["device"]!["name"]!.GetValue<string>(), Is.EqualTo("cpu"));
        Assert.That(json["device"]!["gpu"], Is.Null, "no GPU name on the CPU");
        Assert.That(json["device"]!["tf32"]!.GetValue<bool>(), Is.False, "TF32 is off unless --tf32");
        Assert.That(File.ReadAllText(Path.Combine(output, "report.html")), Does.Contain("device <b>cpu</b>").And.Contain($"scale <b>{expected}</b>"));
    }

    [Test]
    public void AnAttackOnAFolderWritesAdversarialImagesAndATable()
    {
        string images = ImagesFolder(2);
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, error) = Run(["attack", "--model", "mobilenet_v2", "--images", images, "--target", "goldfish", "--steps", "3", .. Roots(output)]);
        Assert.That(code, Is.EqualTo(0), error);
        var written = Directory.GetFiles(output).Select(Path.GetFileName).Order().ToList();
        Assert.That(written.Count(f => f!.EndsWith(".adv.png")), Is.EqualTo(2));
        Assert.That(written, Does.Contain("attack.tsv"));
        var table = File.ReadAllLines(Path.Combine(output, "attack.tsv"));
        Assert.That(table, Has.Length.EqualTo(3));
        TestContext.Out.WriteLine(string.Join(Environment.NewLine, table));
    }
}
