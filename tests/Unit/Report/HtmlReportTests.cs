using System.Diagnostics;
using System.Text.Json.Nodes;
using Repro.Data;
using Repro.Experiments;
using Repro.Report;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Report;

public class HtmlReportTests
{
    static readonly Threshold Accuracy = Threshold.AtLeast("accuracy", 0.7, "%");

    /// <summary>Writes a report with one passing, one failing and one not-run claim and a figure, as the main job does.</summary>
    static (string Folder, IReadOnlyList<ClaimOutcome> Outcomes) WriteReport()
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        var experiments = new IExperiment[]
        {
            new Fake("a", ctx =>
            {
                using var _ = NewDisposeScope();
                manual_seed(1);
                ImageGrid.Save(ctx.Figure("a.png"), [new GridRow("row", [new GridCell(rand(3, 32, 32), "cat 90%")])]);
                return new ClaimOutcome { Id = "a", Title = "A passing claim", ArticleSays = "it passes", Checks = [Accuracy.Measure(0.8, "~80%")], Figures = ["a.png"], Notes = ["the article says 90%, we see 80%"] };
            }),
            new Fake("b", _ => new ClaimOutcome { Id = "b", Title = "A failing claim", ArticleSays = "it fails", Checks = [Accuracy.Measure(0.5, "~80%")] }),
            new Fake("c", _ => ClaimOutcome.NotRun("c", "A claim without weights", "needs weights", "weights not present: place x.pth in /models")),
        };
        var outcomes = ReportWriter.RunAndPublish(experiments, TestData.Paths, output, seed: 42, command: "test", TextWriter.Null);
        return (output, outcomes);
    }

    [Test]
    public void TheReportAndClaimsJsonSayWhatEachClaimFound()
    {
        var (folder, _) = WriteReport();
        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName), Is.EquivalentTo(new[] { "a.png", "report.html", "claims.json" }), "staging folder gone, everything published");

        string html = File.ReadAllText(Path.Combine(folder, "report.html"));
        Assert.That(html, Does.Contain("data:image/png;base64,"), "figures are embedded: the page needs no other file");
        Assert.That(html, Does.Not.Match("(src|href)=\"(https?:)?//").And.Not.Contain("<script"), "no external resource (origins are shown as text)");
        Assert.That(html, Does.Contain("Data and weights").And.Contain("cifar-10-binary.tar.gz"), "the assets, their origins and checksums");
        Assert.That(html, Does.Contain("NOT RUN").And.Contain("weights not present").And.Contain("the article says 90%"));

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "claims.json")))!;
        Assert.That(json["seed"]!.GetValue<long>(), Is.EqualTo(42));
        Assert.That(json["versions"]!["torchsharp"]!.GetValue<string>(), Is.Not.Empty);
        var verdicts = json["claims"]!.AsArray().Select(c => c!["verdict"]!.GetValue<string>()).ToList();
        Assert.That(verdicts, Is.EqualTo(new[] { "pass", "fail", "not run" }));
        Assert.That(json["claims"]![2]!["notRunReason"]!.GetValue<string>(), Does.Contain("place x.pth"));
        Assert.That(json["assets"]!.AsArray().Select(a => a!["name"]!.GetValue<string>()), Is.EquivalentTo(Repro.Data.Assets.AssetCatalogue.Names));
    }

    [Test]
    public void TheReportRendersInHeadlessChromium()
    {
        string? browser = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        if (browser == null)
        {
            Repro.Tests.Unit.Support.TestData.NotRun("no Chromium installed: the report was not rendered in a browser. To fix: apt-get install chromium (.ci/run installs it)");
        }
        var (folder, _) = WriteReport();
        string screenshot = Path.Combine(folder, "screenshot.png");
        string profile = TestData.TempFolder();
        var start = new ProcessStartInfo(browser!)
        {
            ArgumentList = { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", "--window-size=1400,1200", $"--screenshot={screenshot}",
                new Uri(Path.Combine(folder, "report.html")).AbsoluteUri },
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEndAsync();
        Assert.That(process.WaitForExit(60_000), Is.True, "Chromium finished within a minute");
        Assert.That(File.Exists(screenshot), Is.True, "Chromium wrote a screenshot");

        using var _ = NewDisposeScope();
        var shot = ImageFile.Load(screenshot);
        TestContext.Out.WriteLine($"screenshot {screenshot}: {shot.shape[2]}x{shot.shape[1]}");
        Assert.That(shot.std().item<float>(), Is.GreaterThan(0.05f), "the page shows content, not a blank");
        // The passing claim's row is green and the failing one's red: both colours appear in the table.
        var pixels = shot.permute(1, 2, 0).reshape(-1, 3);
        bool Has(float r, float g, float b) => (pixels - tensor(new[] { r, g, b })).abs().amax(1).lt(0.02).any().item<bool>();
        Assert.That(Has(0xd9 / 255f, 0xf2 / 255f, 0xd9 / 255f), Is.True, "a PASS row is shown");
        Assert.That(Has(0xf8 / 255f, 0xd0 / 255f, 0xd0 / 255f), Is.True, "a FAIL row is shown");
    }

    [Test]
    public void EachClaimOfTheCatalogueLinksToItsSectionOfTheNotebook()
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        string claim = new RobustLinearExperiment().Id;
        var experiments = new IExperiment[]
        {
            new Fake(claim, _ => ClaimOutcome.NotRun(claim, "the robust linear model", "robust", "no CIFAR-10 here")),
            new Fake("not-in-the-catalogue", _ => ClaimOutcome.NotRun("not-in-the-catalogue", "elsewhere", "x", "nothing")),
        };
        ReportWriter.RunAndPublish(experiments, TestData.Paths, output, seed: 0, command: "test", TextWriter.Null);
        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.That(html, Does.Contain($"href=\"../{Article.NotebookPath}#claim-6-robust-linear\""));
        Assert.That(File.Exists(Path.Combine(ReproPaths.RepositoryRoot(), Article.NotebookPath)), Is.True, "the linked notebook exists");
        Assert.That(html.Split(Article.NotebookPath + "#").Length - 1, Is.EqualTo(1), "only the catalogue's claim has a notebook section");
    }

    sealed class Fake(string id, Func<ExperimentContext, ClaimOutcome> run) : IExperiment
    {
        public string Id => id;
        public string Title => id;
        public ClaimOutcome Run(ExperimentContext context) => run(context);
    }
}
