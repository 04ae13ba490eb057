using Repro.Data;
using Repro.Experiments;
using Repro.Report;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Report;

/// <summary>
/// Missing inputs are said once: each claim that cannot run says in one short line which assets it
/// lacks, and the run ends with one list of the missing assets (name, size, origin, the claims they
/// keep from running) and the one command that fetches them all.
/// </summary>
public class MissingAssetsSummaryTests
{
    [Test]
    public void EachClaimSaysWhatItLacksInOneLineAndTheRunListsTheAssetsOnce()
    {
        string missing = Path.Combine(TestData.TempFolder(), "nothing-here");
        var paths = new ReproPaths(missing, missing);
        var log = new StringWriter();
        var outcomes = ReportWriter.RunAndPublish(ExperimentCatalog.Create("claim-1"), paths, Path.Combine(TestData.TempFolder(), "out"), 0, "test", log);
        string text = log.ToString();
        Assert.That(outcomes.Select(o => o.Verdict), Is.All.EqualTo(Verdict.NotRun));
        var notRun = text.Split('\n').Where(l => l.TrimStart().StartsWith("NOT RUN:", StringComparison.Ordinal)).ToList();
        Assert.That(notRun, Has.Count.EqualTo(outcomes.Count));
        Assert.That(notRun, Has.All.Length.LessThan(160).And.All.Contains("imagenet-val"));
        Assert.That(System.Text.RegularExpressions.Regex.Count(text, "^missing assets", System.Text.RegularExpressions.RegexOptions.Multiline), Is.EqualTo(1), text);
        Assert.That(System.Text.RegularExpressions.Regex.Count(text, "repro fetch "), Is.EqualTo(1), "one fetch command: " + text);
        string fetch = text.Split('\n').Single(l => l.Contains("repro fetch ", StringComparison.Ordinal));
        foreach (var asset in outcomes.SelectMany(o => o.MissingAssets).Select(m => m.Asset.Name).Distinct())
            Assert.That(fetch, Does.Contain(asset));
        Assert.That(outcomes.Select(o => o.NotRunFix), Has.All.Contain("repro fetch"), "claims.json keeps each claim's own fix");
    }
}
