using Repro.Cli;
using Repro.Data;
using Repro.Tests.Unit.Models.Formats;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// --model PATH end to end: attack, explain, eval and bench on tiny ONNX, TFLite and TorchScript
/// files; crafted files get exit code 2 with the file named and nothing written.
/// </summary>
[NonParallelizable]
public class OwnModelCommandTests
{
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try { return (ReproCommand.Run(args), output.ToString(), error.ToString()); }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }

    /// <summary>Three generated photos-to-be (smooth colour fields), so the test needs no data root.</summary>
    internal static string Images()
    {
        string folder = TestData.TempFolder();
        var generator = new Generator(42);
        for (int i = 0; i < 3; i++)
        {
            using var low = rand([1, 3, 5, 7], generator: generator);
            using var image = nn.functional.interpolate(low, [40, 56], mode: InterpolationMode.Bilinear, align_corners: false)[0];
            ImageFile.SavePng(image, Path.Combine(folder, $"photo{i}.png"));
        }
        return folder;
    }

    internal static string[] Roots(string output) => ["--data", Path.Combine(TestData.TempFolder(), "no-data"), "--models", TestData.TempFolder(), "--out", output];

    public static IEnumerable<TestCaseData> ModelFiles()
    {
        // The targets are classes the tiny random models can be pushed to (the TFLite graph's features are
        // non-negative and clamped, so some of its classes are out of reach whatever the image).
        yield return new TestCaseData("onnx", (Func<string>)(() => Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx")), 3, Array.Empty<string>()).SetName("AttackWritesImagesTableAndSuccessRate(onnx)");
        yield return new TestCaseData("tflite", (Func<string>)(() => TinyTflite.Write(SimpleTflite(), "classifier.tflite")), 2, Array.Empty<string>()).SetName("AttackWritesImagesTableAndSuccessRate(tflite)");
        yield return new TestCaseData("torchscript", (Func<string>)(() => Path.Combine(Fixture.Folder("torchscript"), "traced.pt")), 3, new[] { "--input-size", "16" }).SetName("AttackWritesImagesTableAndSuccessRate(torchscript)");
    }

    /// <summary>
    /// A small uint8-input TFLite classifier every class of which can be reached: CONV_2D 3x3 (4 channels)
    /// -> MEAN over H,W -> FULLY_CONNECTED whose rows are +-e1, +-e2, +-e3 -> SOFTMAX.
    /// </summary>
    internal static byte[] SimpleTflite()
    {
        var g = new TfliteGraphBuilder();
        int input = g.Activation("image", [1, 8, 8, 3], Repro.Models.Tflite.TfliteTensorType.UINT8, 1f / 128, 128);
        var random = new Random(3);
        int w = g.Floats("conv/weights", [4, 3, 3, 3], Enumerable.Range(0, 108).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
        int conv = g.Activation("conv", [1, 8, 8, 4]);
        g.Operator(Repro.Models.Tflite.TfliteOperatorCode.CONV_2D, [input, w], [conv], 1, TfliteGraphBuilder.Options(6, (0, (sbyte)0), (1, 1), (2, 1)));
        int axes = g.Int32s("axes", [2], [1, 2]);
        int pooled = g.Activation("pooled", [1, 4]);
        g.Operator(Repro.Models.Tflite.TfliteOperatorCode.MEAN, [conv, axes], [pooled], 27, TfliteGraphBuilder.Options(1, (0, false)));
        int fc = g.Floats("fc/weights", [6, 4], [1, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, -1, 0]);
        int logits = g.Activation("logits", [1, 6]);
        g.Operator(Repro.Models.Tflite.TfliteOperatorCode.FULLY_CONNECTED, [pooled, fc], [logits], 8, TfliteGraphBuilder.Options(4, (0, (sbyte)0)));
        int probabilities = g.Activation("probabilities", [1, 6]);
        g.Operator(Repro.Models.Tflite.TfliteOperatorCode.SOFTMAX, [logits], [probabilities], 9, TfliteGraphBuilder.Options(1, (0, 1f)));
        return g.Build(input, probabilities);
    }

    [TestCaseSource(nameof(ModelFiles))]
    public void AttackWritesImagesTableAndSuccessRate(string format, Func<string> file, int target, string[] extra)
    {
        string model = file();
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, stdout, error) = Run(["attack", "--model", model, "--images", Images(), "--target", target.ToString(), "--eps", "20", "--steps", "30", "--step-size", "2", .. extra, .. Roots(output)]);
        TestContext.Out.WriteLine(stdout);

        Assert.That(code, Is.EqualTo(0), error);
        var written = Directory.GetFiles(output).Select(Path.GetFileName).Order().ToList();
        Assert.That(written.Count(f => f!.EndsWith(".adv.png")), Is.EqualTo(3));
        Assert.That(File.ReadAllLines(Path.Combine(output, "attack.tsv")), Has.Length.EqualTo(4));
        Assert.That(stdout, Does.Contain($"model: {model}").And.Contain("preprocessing: "));
        Assert.That(stdout, Does.Not.Contain("options."), "the import's notes name the command's flags, not the library's settings");
        if (format != "tflite") Assert.That(stdout, Does.Contain("(--mean and --std)"), "the default statistics, and the flags that change them");
        var success = System.Text.RegularExpressions.Regex.Match(stdout, @"success rate: (\d+)/3");
        Assert.That(success.Success, Is.True, "the success rate is printed");
        Assert.That(int.Parse(success.Groups[1].Value), Is.GreaterThan(0), $"a targeted L2 attack with eps 20 moves at least one {format} prediction to class {target}");
    }

    [Test]
    public void ExplainWritesGradientSmoothGradAndFeatureVisualisation()
    {
        string model = Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx");
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, stdout, error) = Run(["explain", "--model", model, "--images", Images(), "--samples", "4", "--steps", "3", "--step-size", "1", .. Roots(output)]);
        TestContext.Out.WriteLine(stdout);

        Assert.That(code, Is.EqualTo(0), error);
        var written = Directory.GetFiles(output).Select(Path.GetFileName).ToList();
        Assert.That(written.Count(f => f!.EndsWith(".gradient.png")), Is.EqualTo(3));
        Assert.That(written.Count(f => f!.EndsWith(".smoothgrad.png")), Is.EqualTo(3));
        Assert.That(written.Count(f => f!.Contains(".feature-")), Is.EqualTo(3));
        Assert.That(written, Does.Contain("explain.png").And.Contain("explain.tsv"));
        var rows = File.ReadAllLines(Path.Combine(output, "explain.tsv")).Skip(1).Select(l => l.Split('\t')).ToList();
        Assert.That(rows, Has.Count.EqualTo(3));
        Assert.That(rows.All(r => double.Parse(r[6]) > double.Parse(r[5])), Is.True, "feature visualisation raised each chosen component");
    }

    [Test]
    public void ExplainRefusesFeatureVisualisationWithoutARepresentation()
    {
        string model = Path.Combine(Fixture.Folder("torchscript"), "traced.pt");
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, _, error) = Run(["explain", "--model", model, "--input-size", "16", "--method", "featviz", "--images", Images(), .. Roots(output)]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("feature visualisation"));
        Assert.That(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : [], Is.Empty);
    }

    [Test]
    public void EvalRefusesAModelThatIsNotAnImageNetClassifier()
    {
        string model = Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx");
        var (code, _, error) = Run(["eval", "--model", model, .. Roots(Path.Combine(TestData.TempFolder(), "out"))]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(model).And.Contain("10 classes"));
    }

    [Test]
    public void BenchMeasuresAnImportedModel()
    {
        string model = Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx");
        var (code, stdout, error) = Run(["bench", "--model", model, "--batch", "2", "--leak-steps", "0"]);
        TestContext.Out.WriteLine(stdout);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(stdout, Does.Contain($"model: {model}").And.Contain("PGD step / bare forward+backward"));
    }

    /// <summary>Crafted and damaged files of every format, by name.</summary>
    public static IEnumerable<TestCaseData> CraftedFiles()
    {
        foreach (var (name, write, _) in OnnxCraftedFileTests.Cases())
            yield return new TestCaseData(name, write).SetName($"ACraftedFileGetsExitCode2WithTheFileNamedAndNothingWritten(onnx {name})");
        yield return new TestCaseData("truncated tflite", (Func<string, string>)(folder =>
        {
            byte[] whole = TfliteOperatorGraph.Build(true);
            string path = Path.Combine(folder, "truncated.tflite");
            File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
            return path;
        })).SetName("ACraftedFileGetsExitCode2WithTheFileNamedAndNothingWritten(truncated tflite)");
        yield return new TestCaseData("tflite with a huge declared tensor", (Func<string, string>)(folder =>
        {
            var g = new TfliteGraphBuilder();
            int input = g.Activation("image", [1, 8, 8, 3]);
            int w = g.Floats("w", [1 << 20, 1 << 20], [1f]);
            int y = g.Activation("y", [1, 1 << 20]);
            g.Operator(Repro.Models.Tflite.TfliteOperatorCode.FULLY_CONNECTED, [input, w], [y], 8, TfliteGraphBuilder.Options(4, (0, (sbyte)0)));
            string path = Path.Combine(folder, "huge.tflite");
            File.WriteAllBytes(path, g.Build(input, y));
            return path;
        })).SetName("ACraftedFileGetsExitCode2WithTheFileNamedAndNothingWritten(tflite huge declared tensor)");
        yield return new TestCaseData("truncated torchscript", (Func<string, string>)(folder =>
        {
            byte[] whole = File.ReadAllBytes(Path.Combine(Fixture.Folder("torchscript"), "traced.pt"));
            string path = Path.Combine(folder, "truncated.pt");
            File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
            return path;
        })).SetName("ACraftedFileGetsExitCode2WithTheFileNamedAndNothingWritten(truncated torchscript)");
        yield return new TestCaseData("state_dict", (Func<string, string>)(folder =>
        {
            string path = Path.Combine(folder, "weights.pth");
            File.Copy(Path.Combine(Fixture.Folder("torchscript"), "state_dict.pth"), path);
            return path;
        })).SetName("ACraftedFileGetsExitCode2WithTheFileNamedAndNothingWritten(pytorch state_dict)");
    }

    [TestCaseSource(nameof(CraftedFiles))]
    public void ACraftedFileGetsExitCode2WithTheFileNamedAndNothingWritten(string name, Func<string, string> write)
    {
        string model = write(TestData.TempFolder());
        string output = Path.Combine(TestData.TempFolder(), "out");
        var (code, stdout, error) = Run(["attack", "--model", model, "--images", Images(), "--target", "1", "--steps", "1", .. Roots(output)]);
        TestContext.Out.WriteLine($"{name}: exit {code}: {error.Trim()}");

        Assert.That(code, Is.EqualTo(2), stdout + error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), "one line on stderr");
        Assert.That(error, Does.Contain(model));
        Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : [], Is.Empty, "nothing written");
    }
}
