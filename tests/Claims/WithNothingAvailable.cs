using System.Text.Json.Nodes;
using Repro.Cli;
using Repro.Data;
using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// A fresh machine without network: empty data and model roots (a temporary folder), offline.
/// The main job finishes, writes the report and claims.json with every claim NOT RUN and its fix,
/// and exits with <see cref="ExitCodes.NothingRan"/>; every claim test of the suite's runner is
/// skipped with "NOT RUN — reason. To fix: ...". Only the committed CIFAR weights (which ship with
/// the repository) are read.
/// </summary>
[NonParallelizable]
public class WithNothingAvailable
{
    static string EmptyRoot()
    {
        string root = Path.Combine(Path.GetTempPath(), $"repro-tests-{Guid.NewGuid():N}", "empty");
        Directory.CreateDirectory(root);
        return root;
    }

    static IReadOnlyList<IExperiment> Experiments() =>
        [.. ExperimentCatalog.Create("all"), new ShortAdversarialTrainingBuysRobustness()];

    static IEnumerable<string> Ids => Experiments().Select(e => e.Id);

    [Test]
    public void TheMainJobReportsEveryClaimNotRunWithItsFixAndExitsNothingRan()
    {
        string empty = EmptyRoot();
        string output = Path.Combine(Path.GetDirectoryName(empty)!, "out");
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        int code;
        try { code = ReproCommand.Run(["run", "all", "--offline", "--data", empty, "--models", empty, "--out", output]); }
        finally { Console.SetError(previous); }

        Assert.That(code, Is.EqualTo(ExitCodes.NothingRan), error.ToString());
        Assert.That(File.Exists(Path.Combine(output, "report.html")), Is.True);
        var claims = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "claims.json")))!["claims"]!.AsArray();
        Assert.That(claims, Has.Count.EqualTo(ExperimentCatalog.Create("all").Count));
        foreach (var claim in claims)
        {
            string id = claim!["id"]!.GetValue<string>();
            Assert.That(claim["verdict"]!.GetValue<string>(), Is.EqualTo("not run"), id);
            Assert.That(claim["notRunReason"]!.GetValue<string>(), Does.Contain(empty).And.Contain("To fix:"), id);
            Assert.That(claim["notRunFix"]!.GetValue<string>(), Does.Contain("repro fetch ").And.Contain(empty), id);
        }
        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.That(html, Does.Contain("NOT RUN").And.Contain("repro fetch"));
        Assert.That(Directory.GetFileSystemEntries(empty), Is.Empty, "offline: nothing fetched or written into the roots");
    }

    [TestCaseSource(nameof(Ids))]
    public void EveryClaimTestIsSkippedWithItsReasonAndFix(string id)
    {
        string empty = EmptyRoot();
        var experiment = Experiments().Single(e => e.Id == id);

        var skipped = Assert.Throws<IgnoreException>(() => ClaimRunner.Run(experiment, new ReproPaths(empty, empty)));

        Assert.That(skipped!.Message, Does.StartWith($"NOT RUN — {id}: ").And.Contain(empty).And.Contain("To fix: run 'repro fetch "));
        Assert.That(Directory.GetFileSystemEntries(empty), Is.Empty);
    }
}
