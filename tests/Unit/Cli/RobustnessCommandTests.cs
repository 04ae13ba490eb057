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
        var (code, text, error) = Run(["robustness", "--model", "cifar-standard", "--n", "6", "--eps", "0.25,1.25", "--attacks", "square,pgd", "--square-queries", "10", .. Roots(output)]);
        TestContext.Out.WriteLine(text);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("after pgd").And.Contain("after square").And.Contain("robust accuracy").And.Contain("flags"));
        foreach (var file in new[] { "robustness.tsv", "robustness.png", "robustness.html" })
            Assert.That(File.Exists(Path.Combine(output, file)), Is.True, file);
        var tsv = File.ReadAllLines(Path.Combine(output, "robustness.tsv"));
        Assert.That(tsv, Has.Length.EqualTo(1 + 2 * 3), "header, then per eps: after pgd, after square, robust accuracy");
        Assert.That(tsv[1], Does.StartWith("cifar-standard\tl2\t0.25\tafter pgd"), "gradient attacks run before gradient-free ones");
        Assert.That(File.ReadAllText(Path.Combine(output, "robustness.html")), Does.Contain("data:image/png;base64,").And.Contain("Sanity flags"));
        Assert.That(Directory.GetFileSystemEntries(output).Where(e => Path.GetFileName(e).StartsWith(".staging")), Is.Empty);
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
