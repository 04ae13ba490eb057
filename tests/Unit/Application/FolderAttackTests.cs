using Repro.Application;
using Repro.Attacks;
using Repro.Cli;
using Repro.Data;
using Repro.Tests.Unit.Support;
using SkiaSharp;
using static Repro.Tests.Unit.Support.OwnImageCases;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Application;

/// <summary>
/// <c>repro attack</c>'s engine on users' folders, with a small random classifier for 224x224 images:
/// one output per input, written files inside the budget, every number measured on the written
/// file, OS litter skipped and listed, bad files refused or skipped, a valid table whatever the
/// names, an output folder holding only this run's files, nothing half-written.
/// </summary>
public class FolderAttackTests
{
    static readonly IReadOnlyList<string> Names = PooledLinearClassifier.Names();

    static string NewFolder(params (string Name, byte[] Bytes)[] files)
    {
        string dir = TestData.TempFolder();
        foreach (var (name, bytes) in files) File.WriteAllBytes(Path.Combine(dir, name), bytes);
        return dir;
    }

    static byte[] Jpeg(int w = 300, int h = 240, int seed = 1) => Encode(Photo(w, h, seed), SKEncodedImageFormat.Jpeg);
    static byte[] Png(int w = 260, int h = 300, int seed = 2) => Encode(Photo(w, h, seed), SKEncodedImageFormat.Png);

    static string Out() => Path.Combine(TestData.TempFolder(), "out");

    static FolderAttackReport Attack(string images, string output, ThreatModel? threat = null, int? target = 3, PgdOptions? options = null,
        FolderAttackSettings? settings = null, TorchSharp.torch.nn.Module<Tensor, Tensor>? model = null, long seed = 0) =>
        FolderAttack.Run(model ?? new PooledLinearClassifier(), Names, images, target, threat ?? new L2Ball(1.25), new AttackRun(seed),
            options ?? new PgdOptions { Steps = 4, StepSize = 0.5 }, output, settings);

    static string[] Entries(string folder) =>
        Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal).ToArray() : [];

    /// <summary>The written table, parsed back with the stated escaping: header plus one record per row, ten fields each.</summary>
    static List<string[]> ReadTable(string output)
    {
        string text = File.ReadAllText(Path.Combine(output, FolderAttack.Table));
        Assert.That(text, Does.EndWith("\n"));
        var records = text[..^1].Split('\n').Select(Tsv.Split).ToList();
        Assert.That(records[0], Is.EqualTo(FolderAttack.Columns));
        Assert.That(records.All(r => r.Length == FolderAttack.Columns.Length), Is.True, "every record has every field");
        return records;
    }

    [Test]
    public void TheSharedClashCaseWritesOneFilePerInput()
    {
        string images = Folder("s01-clash");
        string output = Out();
        var report = Attack(images, output);
        Assert.That(Entries(output), Is.EqualTo(new[] { "attack.tsv", "cat.jpg.adv.png", "cat.png.adv.png" }));
        var table = ReadTable(output);
        Assert.That(table.Skip(1).Select(r => (r[0], r[1])), Is.EqualTo(new[] { ("cat.jpg", "cat.jpg.adv.png"), ("cat.png", "cat.png.adv.png") }));
        Assert.That(report.Rows, Has.Count.EqualTo(2));
    }

    static IEnumerable<TestCaseData> Budgets()
    {
        yield return new TestCaseData("L2", 1.25, false).SetName("{m}(L2 1.25)");
        yield return new TestCaseData("L2", 0.1, true).SetName("{m}(L2 0.1, random start)");
        yield return new TestCaseData("Linf", 0.03, false).SetName("{m}(Linf 0.03)");
        yield return new TestCaseData("Linf", 8 / 255.0, true).SetName("{m}(Linf 8 over 255, random start)");
        yield return new TestCaseData("Linf", 0.0015, false).SetName("{m}(Linf 0.0015)");
        yield return new TestCaseData("inf", double.PositiveInfinity, true).SetName("{m}(unconstrained, random start)");
    }

    /// <summary>
    /// Reloads each written PNG and the input's crop independently and checks: the written file is
    /// inside the ball in exact 8-bit arithmetic, and the table's distances, prediction, confidence
    /// and success are those of the written file.
    /// </summary>
    [TestCaseSource(nameof(Budgets))]
    public void WrittenFilesStayInsideTheBudgetAndTheTableDescribesThem(string norm, double eps, bool randomStart)
    {
        string images = NewFolder(("a.jpg", Jpeg(300, 240, 1)), ("b.png", Png(260, 300, 2)), ("c.jpg", Jpeg(500, 333, 3)));
        string output = Out();
        ThreatModel threat = norm switch { "L2" => new L2Ball(eps), "Linf" => new LinfBall(eps), _ => new Unconstrained() };
        var model = new PooledLinearClassifier();
        var report = Attack(images, output, threat, target: 3, new PgdOptions { Steps = 5, StepSize = norm == "Linf" ? eps / 2 : 0.5, RandomStart = randomStart },
            model: model, seed: 7);
        var table = ReadTable(output);
        Assert.That(report.Rows, Has.Count.EqualTo(3));
        for (int i = 0; i < 3; i++)
        {
            var row = report.Rows[i];
            using var scope = NewDisposeScope();
            var original = ImageFile.LoadResizedCentreCrop(Path.Combine(images, row.File)).to_type(ScalarType.Float64);
            var written = ImageFile.Load(Path.Combine(output, row.Output)).to_type(ScalarType.Float64);
            var offsets = ((written - original) * 255).round();
            double l2 = offsets.pow(2).sum().sqrt().item<double>() / 255, linf = offsets.abs().max().item<double>() / 255;
            TestContext.Out.WriteLine($"{row.File}: L2 {l2:F6} Linf {linf:F6} (eps {eps}), {row.Adversarial} {row.AdversarialConfidence:P1}, success {row.Success}");
            if (norm == "L2") Assert.That(l2, Is.LessThanOrEqualTo(eps + 1e-12), "L2 of the written file");
            if (norm == "Linf") Assert.That(linf, Is.LessThanOrEqualTo(eps + 1e-12), "L-inf of the written file");
            Assert.That(row.L2, Is.EqualTo(l2).Within(1e-12));
            Assert.That(row.Linf, Is.EqualTo(linf).Within(1e-12));
            Assert.That(double.Parse(table[i + 1][7]), Is.EqualTo(l2).Within(5e-7));

            Tensor probabilities;
            using (no_grad()) probabilities = softmax(model.forward(written.to_type(ScalarType.Float32).unsqueeze(0)), 1)[0];
            int predicted = (int)probabilities.argmax().item<long>();
            Assert.That(row.Adversarial, Is.EqualTo(Names[predicted]), "prediction on the written file");
            Assert.That(row.AdversarialConfidence, Is.EqualTo(probabilities[predicted].item<float>()).Within(1e-5));
            Assert.That(row.Success, Is.EqualTo(predicted == 3), "success measured on the written file");
            Assert.That(table[i + 1][6], Is.EqualTo(row.Success ? "true" : "false"));
        }
        if (norm == "Linf") Assert.That(report.Rows.Max(r => r.Linf), Is.EqualTo(ByteGrid.LinfSteps(eps) / 255.0).Within(1e-12), "the L-inf budget is used up to its last whole step");
        Assert.That(File.ReadAllText(Path.Combine(output, FolderAttack.Table)), Does.Not.Contain("NaN"));
    }

    /// <summary>
    /// The case: at L-inf eps 0.0015 (under 1/255) the float attack flips the model, but the
    /// 8-bit file is the original itself. The table says so: same class, distance 0, no success.
    /// </summary>
    [Test]
    public void ABudgetUnderOneLevelIsNoSuccessOnTheWrittenFile()
    {
        string images = NewFolder(("a.png", Png(256, 256, 5)));
        string output = Out();
        var model = new PooledLinearClassifier();
        using var crop = ImageFile.LoadResizedCentreCrop(Path.Combine(images, "a.png"));
        model.MakeNearTie(crop);
        var threat = new LinfBall(0.0015);
        var options = new PgdOptions { Steps = 3, StepSize = 0.001 };

        using var floatAttack = Pgd.Run(CrossEntropyObjective.Targeted(model, tensor(new long[] { 1 })), crop.unsqueeze(0), threat, new AttackRun(0), options);
        Assert.That(floatAttack.Success[0].item<bool>(), Is.True, "the float attack succeeds");

        var row = Attack(images, output, threat, target: 1, options, model: model).Rows.Single();
        using var written = ImageFile.Load(Path.Combine(output, row.Output));
        Assert.That(written.sub(crop).abs().max().item<float>(), Is.EqualTo(0f), "the written PNG is the original crop");
        Assert.That((row.Original, row.Adversarial, row.Success, row.L2, row.Linf), Is.EqualTo(("class0", "class0", false, 0.0, 0.0)));
        Assert.That(double.IsPositiveInfinity(row.Psnr), Is.True);
        Assert.That(ReadTable(output)[1][9], Is.EqualTo("inf"));
    }

    [Test]
    public void OsLitterIsSkippedAndListed()
    {
        string images = Folder("s12-litter");
        File.WriteAllBytes(Path.Combine(images, "IMG_0001.jpg"), Jpeg());
        File.WriteAllText(Path.Combine(images, "Thumbs.db"), "x");
        File.WriteAllText(Path.Combine(images, "desktop.ini"), "[.ShellClassInfo]");
        Directory.CreateDirectory(Path.Combine(images, "__MACOSX"));
        Directory.CreateDirectory(Path.Combine(images, "holiday"));
        string output = Out();
        var report = Attack(images, output);
        Assert.That(report.Rows.Select(r => r.File), Is.EqualTo(new[] { "IMG_0001.jpg" }));
        var skipped = report.Skipped.Select(s => s.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.That(skipped, Is.EqualTo(new[] { ".DS_Store", "._IMG_0001.jpg", "Thumbs.db", "__MACOSX/", "desktop.ini", "holiday/", "notes.txt" }));
        string summary = ImageFolder.Summary(report.Skipped);
        TestContext.Out.WriteLine(summary);
        Assert.That(summary, Does.Not.Contain("\n"));
        foreach (var name in skipped) Assert.That(summary, Does.Contain(name));
        Assert.That(Entries(output), Is.EqualTo(new[] { "IMG_0001.jpg.adv.png", "attack.tsv" }));
    }

    [Test]
    public void ATruncatedImageStopsTheRunNamingItAndWritesNothing()
    {
        string images = Folder("s03-trunc");
        File.WriteAllBytes(Path.Combine(images, "good.jpg"), Jpeg());
        string output = Out();
        var e = Assert.Throws<ReproInputException>(() => Attack(images, output))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(Path.Combine(images, "trunc60.jpg")).And.Contain("incomplete"));
        Assert.That(Entries(output), Is.Empty, "nothing written");
    }

    [Test]
    public void WithSkipBadTruncatedImagesAreSkippedAndListed()
    {
        string images = Folder("s03-trunc");
        File.WriteAllBytes(Path.Combine(images, "good.jpg"), Jpeg());
        File.WriteAllText(Path.Combine(images, "broken.png"), "not an image");
        string output = Out();
        var report = Attack(images, output, settings: new FolderAttackSettings { SkipBad = true });
        Assert.That(report.Rows.Select(r => r.File), Is.EqualTo(new[] { "good.jpg" }));
        Assert.That(report.Skipped.Select(s => s.Name).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "broken.png", "trunc60.jpg", "trunc60.png" }));
        TestContext.Out.WriteLine(ImageFolder.Summary(report.Skipped));
        Assert.That(report.Skipped.Single(s => s.Name == "trunc60.jpg").Reason, Does.StartWith("incomplete image data"));
        Assert.That(Entries(output), Is.EqualTo(new[] { "attack.tsv", "good.jpg.adv.png" }));
    }

    [Test]
    public void AFolderWithNothingToAttackIsNamed()
    {
        string images = Folder("s12-litter");
        var e = Assert.Throws<ReproInputException>(() => Attack(images, Out()))!;
        Assert.That(e.Message, Does.Contain(images).And.Contain("._IMG_0001.jpg"));
    }

    /// <summary>Tabs, newlines, backslashes, quotes and non-ASCII in file names: one record per line, ten fields, names restored by unescaping.</summary>
    [Test]
    public void TheTableStaysValidWhateverTheNames()
    {
        string[] names = ["tab\there.jpg", "new\nline.png", "back\\slash.jpg", "quote\"d, comma.png", "ünïcødé 猫.jpg", "cr\rreturn.png"];
        string images = NewFolder(names.Select((n, i) => (n, n.EndsWith(".png") ? Png(230, 230, i) : Jpeg(230, 230, i))).ToArray());
        string output = Out();
        Attack(images, output);
        var table = ReadTable(output);
        Assert.That(table, Has.Count.EqualTo(names.Length + 1));
        Assert.That(table.Skip(1).Select(r => r[0]).Order(StringComparer.Ordinal), Is.EqualTo(names.Order(StringComparer.Ordinal)));
        foreach (var record in table.Skip(1))
            Assert.That(File.Exists(Path.Combine(output, record[1])), Is.True, $"{record[1]} exists");
        Assert.That(File.ReadAllText(Path.Combine(output, FolderAttack.Table)), Does.Contain("tab\\there.jpg\ttab\\there.jpg.adv.png"));
    }

    [Test]
    public void ANonEmptyOutputFolderIsRefusedAndLeftAlone()
    {
        string images = NewFolder(("a.jpg", Jpeg()));
        string output = Out();
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "mine.txt"), "keep me");
        var e = Assert.Throws<ReproInputException>(() => Attack(images, output))!;
        Assert.That(e.Message, Does.StartWith($"outputFolder {output}").And.Contain("settings.Overwrite"), "the library names its settings");
        Assert.That(SettingFlags.Rename(e, AttackCommand.Flags).Message, Does.StartWith($"--out {output}").And.Contain("pass --overwrite"), "the command names its flags");
        e = Assert.Throws<ReproInputException>(() => Attack(images, output, settings: new FolderAttackSettings { Overwrite = true }))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("mine.txt"));
        Assert.That(Entries(output), Is.EqualTo(new[] { "mine.txt" }));
        Assert.That(File.ReadAllText(Path.Combine(output, "mine.txt")), Is.EqualTo("keep me"));
    }

    /// <summary>The stale-output case: a second run with --overwrite leaves only its own files (the earlier run's extra PNG is gone).</summary>
    [Test]
    public void OverwriteReplacesAnEarlierRunsResultsOnly()
    {
        string output = Out();
        Attack(NewFolder(("a.jpg", Jpeg(seed: 1)), ("b.jpg", Jpeg(seed: 2))), output);
        Assert.That(Entries(output), Is.EqualTo(new[] { "a.jpg.adv.png", "attack.tsv", "b.jpg.adv.png" }));
        Assert.Throws<ReproInputException>(() => Attack(NewFolder(("c.png", Png())), output));
        Attack(NewFolder(("c.png", Png())), output, settings: new FolderAttackSettings { Overwrite = true });
        Assert.That(Entries(output), Is.EqualTo(new[] { "attack.tsv", "c.png.adv.png" }));
        Assert.That(ReadTable(output).Skip(1).Select(r => r[0]), Is.EqualTo(new[] { "c.png" }));
    }

    [Test]
    public void TheImagesFolderCannotBeTheOutput()
    {
        string images = NewFolder(("a.jpg", Jpeg()));
        var e = Assert.Throws<ReproArgumentException>(() => Attack(images, images, settings: new FolderAttackSettings { Overwrite = true }))!;
        Assert.That(e.ParamName, Is.EqualTo("outputFolder"));
        Assert.That(SettingFlags.Rename(e, AttackCommand.Flags).Message, Does.Contain("is the --images folder"));
        Assert.That(Entries(images), Is.EqualTo(new[] { "a.jpg" }));
    }

    /// <summary>A failure after some images were written (here the model fails on its third call, in the second batch) leaves no file behind.</summary>
    [Test]
    public void AFailureHalfWayLeavesNothing()
    {
        string images = NewFolder(Enumerable.Range(0, 3).Select(i => ($"{i}.jpg", Jpeg(seed: i))).ToArray());
        string output = Out();
        var failing = new FailsAfter(new PooledLinearClassifier(), calls: 8);
        Assert.Throws<InvalidOperationException>(() => Attack(images, output, options: new PgdOptions { Steps = 2, StepSize = 0.5 },
            settings: new FolderAttackSettings { BatchSize = 2 }, model: failing));
        Assert.That(failing.Calls, Is.GreaterThan(5), "it failed in the second batch, after the first was written");
        Assert.That(Entries(output), Is.Empty);
    }

    [Test]
    public void NonFiniteLogitsAreRefused()
    {
        var model = new PooledLinearClassifier();
        using (no_grad()) model.Head.bias![0].fill_(double.NaN);
        var e = Assert.Throws<ReproInputException>(() => Attack(NewFolder(("a.jpg", Jpeg())), Out(), model: model))!;
        Assert.That(e.Message, Does.Contain("a.jpg").And.Contain("not finite"));
    }

    [TestCase(double.PositiveInfinity, "finite")]
    [TestCase(double.NaN, "step size")]
    [TestCase(0.0, "step size")]
    public void AStepSizeThatIsNotAPositiveNumberIsRefused(double step, string message)
    {
        var e = Assert.Throws<ReproInputException>(() => Attack(NewFolder(("a.jpg", Jpeg())), Out(), options: new PgdOptions { StepSize = step }))!;
        Assert.That(e.Message, Does.Contain(message));
    }

    /// <summary>Counts forward passes and throws on the given one: a fault in the middle of a run.</summary>
    sealed class FailsAfter(TorchSharp.torch.nn.Module<Tensor, Tensor> inner, int calls) : TorchSharp.torch.nn.Module<Tensor, Tensor>("FailsAfter")
    {
        readonly TorchSharp.torch.nn.Module<Tensor, Tensor> inner = inner;
        public int Calls { get; private set; }

        public override Tensor forward(Tensor input)
        {
            if (++Calls >= calls) throw new InvalidOperationException("simulated fault");
            return inner.forward(input);
        }
    }
}
