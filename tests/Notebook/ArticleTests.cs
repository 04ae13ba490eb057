using Repro.Data;
using Repro.Experiments;
using static TorchSharp.torch;

namespace Repro.Tests.Notebook;

/// <summary>The public entry point the notebook uses (<see cref="Article"/>), from outside the library (no InternalsVisibleTo).</summary>
[TestFixture]
public class ArticleTests
{
    static string EmptyFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"repro-article-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Test]
    public void SectionsAreTheCataloguesInItsOrderAndEachClaimMapsBackToItsSection()
    {
        var names = Article.Sections.Select(s => s.Name).ToList();
        Assert.That(names, Is.EqualTo(new[] { "claim-1-goldfish", "claim-2-non-robust-features", "claim-3-saliency", "claim-4-robust-model", "claim-5-feature-visualisation", "claim-6-robust-linear" }));
        Assert.That(Article.Sections.Select(s => s.Description), Has.All.StartsWith("claim "));
        Assert.That(Article.SectionOf("no-such-claim"), Is.Null);
        // Every claim the report shows for a section links back to that section (the notebook's anchor).
        string folder = EmptyFolder();
        try
        {
            var results = Article.Run("claim-6-robust-linear", new ArticleRunSettings { DataRoot = folder, ModelRoot = folder, OutputFolder = folder, Offline = true });
            Assert.That(results, Is.Not.Empty);
            Assert.That(results.Select(r => Article.SectionOf(r.Id)), Has.All.EqualTo("claim-6-robust-linear"));
        }
        finally { Directory.Delete(folder, true); }
    }

    [Test]
    public void AbsentDataMakesEveryClaimOfASectionNotRunWithItsFixAndNoFigure()
    {
        string folder = EmptyFolder();
        try
        {
            var log = new StringWriter();
            var results = Article.Run("claim-2-non-robust-features", new ArticleRunSettings { DataRoot = folder, ModelRoot = folder, OutputFolder = Path.Combine(folder, "figures"), Offline = true, Log = log });
            Assert.That(results, Has.Count.EqualTo(1));
            var r = results[0];
            Assert.That(r.Verdict, Is.EqualTo(ClaimVerdict.NotRun));
            Assert.That(r.NotRunReason, Does.Contain("CIFAR-10").IgnoreCase);
            Assert.That(r.NotRunFix, Is.Not.Null.And.Not.Empty);
            Assert.That(r.Checks, Is.Empty);
            Assert.That(r.Figures, Is.Empty);
            Assert.That(r.ArticleSays, Is.Not.Empty);
            Assert.That(r.ToHtml(), Does.Contain("NOT RUN").And.Contain("To run it:"));
            Assert.That(log.ToString(), Does.Contain("offline").And.Contain("NOT RUN"));
        }
        finally { Directory.Delete(folder, true); }
    }

    [Test]
    public void BadSettingsAreRefusedNamingTheSetting()
    {
        var unknown = Assert.Throws<ReproInputException>(() => Article.Run("goldfish"));
        Assert.That(unknown!.Message, Does.Contain("goldfish").And.Contain("claim-1-goldfish"));
        var scale = Assert.Throws<ReproInputException>(() => Article.Run("claim-1-goldfish", new ArticleRunSettings { Scale = "huge" }));
        Assert.That(scale!.Message, Does.Contain("ArticleRunSettings.Scale").And.Contain("huge"));
        var device = Assert.Throws<ReproInputException>(() => Article.Run("claim-1-goldfish", new ArticleRunSettings { Device = "tpu" }));
        Assert.That(device!.Message, Does.Contain("ArticleRunSettings.Device").And.Contain("tpu"));
        var output = Assert.Throws<ReproInputException>(() => Article.Run("claim-1-goldfish", new ArticleRunSettings { OutputFolder = " " }));
        Assert.That(output!.Message, Does.Contain("ArticleRunSettings.OutputFolder"));
    }

    [Test]
    public void LabelledImagesPngShowsImagesSpreadOverTheSet()
    {
        using var scope = NewDisposeScope();
        // Four images, each one flat colour, labelled 0..3.
        var images = stack(Enumerable.Range(0, 4).Select(i => full(3, 8, 8, i / 3.0f)).ToArray());
        using var set = new LabelledImages(images, tensor(new long[] { 0, 1, 2, 3 }), ["a", "b", "c", "d"]);
        byte[] png = Article.LabelledImagesPng(set, 2, "two of four", 32);
        Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG signature");
        string file = Path.Combine(Path.GetTempPath(), $"repro-article-{Guid.NewGuid():N}.png");
        try
        {
            File.WriteAllBytes(file, png);
            var shown = ImageFile.Load(file); // [3,H,W]
            long width = shown.shape[2];
            // Two 32-pixel cells: images 0 (black) and 2 (grey 2/3), in that order; cell centres sampled on the last rows.
            long row = shown.shape[1] - 8 - 16;
            float first = shown[0, row, 8 + 16].item<float>(), second = shown[0, row, 8 + 32 + 8 + 16].item<float>();
            Assert.That(width, Is.EqualTo(8 + 2 * (32 + 8)));
            Assert.That(first, Is.EqualTo(0).Within(0.02));
            Assert.That(second, Is.EqualTo(2 / 3.0).Within(0.02));
        }
        finally { File.Delete(file); }
        Assert.Throws<ArgumentOutOfRangeException>(() => Article.LabelledImagesPng(set, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Article.LabelledImagesPng(set, 2, cellSize: 8));
    }

    [Test]
    public void StartUpSaysHowOneDnnIsConfigured() =>
        Assert.That(Article.StartUp(), Does.StartWith("REPRO_ONEDNN="));
}
