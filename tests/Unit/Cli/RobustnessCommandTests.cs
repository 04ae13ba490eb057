using Repro.Cli;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Cli;

/// <summary><c>repro robustness</c>: a small real run writes its table, plot and report; bad input is named, exits 2 and writes nothing.</summary>
[NonParallelizable]
public class RobustnessCommandTests
{
    static (int Code, string Output, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        var output = new StringWriter();
        var (previousError, previousOut) = (Console.Error, Console.Out);
        Console.SetError(error);
        Console.SetOut(output);
        try { return (ReproCommand.Run(args), output.ToString(), error.ToString()); }
        finally
        {
            Console.SetError(previousError);
            Console.SetOut(previousOut);
        }
    }

    static string[] Roots(string output) => ["--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot, "--out", output];

    [Test]
    public void ASmallRunPrintsTheTableAndWritesTheReport()
    {
        TestData.Require("cifar10");
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, text, error) = Run(["robustness", "--model", "cifar-standard", "--n", "6", "--eps", "0.25,1.25", "--attacks", "square,pgd", "--square-queries", "10", "--norm", "L2", .. Roots(output)]);
        TestContext.Out.WriteLine(text);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("after pgd").And.Contain("after square").And.Contain("robust accuracy").And.Contain("flags"));
        foreach (var file in new[] { "robustness.tsv", "robustness.png", "robustness.html" })
            Assert.That(File.Exists(Path.Combine(output, file)), Is.True, file);
        var tsv = File.ReadAllLines(Path.Combine(output, "robustness.tsv"));
        Assert.That(tsv, Has.Length.EqualTo(1 + 2 * 3), "header, then per eps: after pgd, after square, robust accuracy");
        Assert.That(tsv[1], Does.StartWith("cifar-standard\tl2\t0.25\tafter pgd"), "gradient attacks run before gradient-free ones; --norm L2 is written l2");
        Assert.That(Repro.Application.Jobs.RobustnessManifest.Read(Path.Combine(output, "manifest.json")).Settings.Norm, Is.EqualTo("l2"), "the manifest's norm as before");
        Assert.That(text, Does.Contain("L2 threat model"));
        Assert.That(File.ReadAllText(Path.Combine(output, "robustness.html")), Does.Contain("data:image/png;base64,").And.Contain("Sanity flags"));
        Assert.That(Directory.GetFileSystemEntries(output).Where(e => Path.GetFileName(e).StartsWith(".staging")), Is.Empty);
    }

    /// <summary>
    /// AutoAttack's standard version on a ten-class model taking grey images ([N,1,8,8]): the digits
    /// parity fixture's ONNX file and its first 10 test digits written as PNG files in class folders.
    /// </summary>
    [Test]
    public void TheStandardPresetOnATenClassGreyModelRunsApgdCeApgdTFabTAndSquare()
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Evaluation", "fixtures", "digits");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fixtures, "digits-test.json")));
        var pixels = doc.RootElement.GetProperty("pixels").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var labels = doc.RootElement.GetProperty("labels").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        string root = TestData.TempFolder(), images = Path.Combine(root, "digits"), output = Path.Combine(root, "out"), names = Path.Combine(root, "labels.txt");
        File.WriteAllLines(names, Enumerable.Range(0, 10).Select(i => $"{i}"));
        for (int i = 0; i < 10; i++)
        {
            string folder = Directory.CreateDirectory(Path.Combine(images, $"{labels[i]}")).FullName;
            using var grey = TorchSharp.torch.tensor(pixels.AsSpan(64 * i, 64).ToArray()).reshape(1, 8, 8);
            using var rgb = grey.expand(3, 8, 8).contiguous();
            Repro.Data.ImageFile.SavePng(rgb, Path.Combine(folder, $"{i}.png"));
        }
        var (code, text, error) = Run(["robustness", "--model", Path.Combine(fixtures, "digits-mlp.onnx"), "--labels", names, "--images", images, "--n", "10",
            "--preset", "standard", "--eps", "0.3", "--resize", "none", .. Roots(output)]);
        TestContext.Out.WriteLine(text);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("apgd-ce: 100 iterations, 1 restart; apgd-t: up to 9 target classes × 100 iterations; fab-t: up to 9 target classes × 100 iterations; square: 5000 queries, p_init 0.8"));
        Assert.That(text, Does.Contain("1x8x8").And.Contain("grey"));
        var tsv = File.ReadAllLines(Path.Combine(output, "robustness.tsv"));
        var stages = tsv.Skip(1).Select(l => l.Split('\t')[3]).ToList();
        Assert.That(stages, Is.EqualTo(new[] { "after apgd-ce", "after apgd-t", "after fab-t", "after square", "robust accuracy" }));
    }

    [TestCase("--attacks", "apgd-dlr", "apgd-margin")]
    [TestCase("--attacks", "apgd-t", ">= 4 classes")]
    [TestCase("--attacks", "fgsm", "unknown attack 'fgsm'")]
    [TestCase("--eps", "0.5,big", "'big'")]
    [TestCase("--norm", "l1", "--norm")]
    [TestCase("--model", "no-such-model", "model 'no-such-model' is neither a known name")]
    [TestCase("--preset", "strong", "unknown preset 'strong'")]
    [TestCase("--shard", "3/3", "--shard must be K/N")]
    [TestCase("--resize", "stretch", "--resize must be crop, fit or none")]
    [TestCase("--eps", "0.5,0.5", "given twice")]
    [TestCase("--split", "bogus", "--split: CIFAR-10 has test and train, not 'bogus'")]
    public void BadInputIsNamedAndNothingIsWritten(string option, string value, string named)
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        var args = new List<string> { "robustness", "--model", "cifar-robust", "--n", "2" };
        int at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value;
        else args.AddRange([option, value]);
        var (code, _, error) = Run([.. args, .. Roots(output)]);
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain(named));
        Assert.That(error.Trim().Split('\n'), Has.Length.LessThanOrEqualTo(3), "a short message, not a stack trace");
        Assert.That(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : [], Is.Empty, "no partial output");
    }
}
