using System.Globalization;
using Repro.Application;
using Repro.Attacks;
using Repro.Cli;
using Repro.Data;
using Repro.Models.Formats;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// <c>--precision</c> on the commands (issue 23): an attack searched in bfloat16 writes only float32
/// figures (every number of attack.tsv equals a float32 re-computation on the written PNGs), and an
/// unknown precision is refused with one line before any model is loaded.
/// </summary>
[NonParallelizable]
public class PrecisionCommandTests
{
    // The command harness of the own-model tests: the same in-process run, photos and empty roots.
    static (int Code, string Output, string Error) Run(params string[] args) => OwnModelCommandTests.Run(args);
    static string Images() => OwnModelCommandTests.Images();
    static string[] Roots(string output) => OwnModelCommandTests.Roots(output);

    [Test]
    public void EveryNumberABFloat16AttackWritesIsTheFloat32Figure()
    {
        if (!AttackPrecisions.Supported(AttackPrecision.BFloat16, CPU, out var reason)) Assert.Ignore($"NOT RUN — no bf16 kernels here: {reason}");
        // OwnModelCommandTests' tiny TFLite classifier (a 3x3 convolution, a mean, a fully connected layer): every class reachable.
        string model = TinyTflite.Write(OwnModelCommandTests.SimpleTflite(), "classifier.tflite");
        string images = Images(), output = Path.Combine(TestData.TempFolder(), "out");
        var (code, stdout, error) = Run(["attack", "--model", model, "--images", images, "--target", "2", "--eps", "20", "--steps", "10", "--step-size", "2", "--precision", "bf16", .. Roots(output)]);
        TestContext.Out.WriteLine(stdout);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(stdout, Does.Match(@"[1-9]\d* configurations .* worst bfloat16 error"), "the model's bf16 arithmetic was checked");

        using var _ = NewDisposeScope();
        using var loaded = ModelSource.Load(model, new ReproPaths(TestData.TempFolder(), TestData.TempFolder()));
        var rows = File.ReadAllLines(Path.Combine(output, FolderAttack.Table)).Skip(1).Select(l => l.Split('\t')).ToList();
        Assert.That(rows, Has.Count.EqualTo(3));
        foreach (var row in rows)
        {
            int size = loaded.Input.H;
            var original = ImageFile.LoadResizedCentreCrop(Path.Combine(images, row[0]), size * FolderAttack.Resize / FolderAttack.Crop, size).unsqueeze(0);
            var written = ImageFile.Load(Path.Combine(output, row[1])).unsqueeze(0);
            Tensor before, after;
            using (no_grad())
            {
                before = softmax(loaded.Module.call(original).to_type(ScalarType.Float64), 1)[0];
                after = softmax(loaded.Module.call(written).to_type(ScalarType.Float64), 1)[0];
            }
            int o = (int)before.argmax().item<long>(), a = (int)after.argmax().item<long>();
            var names = loaded.Classes.Names;
            Assert.That(row[2], Is.EqualTo(names[o]), "original class");
            Assert.That(row[3], Is.EqualTo(before[o].item<double>().ToString("F4", CultureInfo.InvariantCulture)), "original confidence, float32");
            Assert.That(row[4], Is.EqualTo(names[a]), "adversarial class");
            Assert.That(row[5], Is.EqualTo(after[a].item<double>().ToString("F4", CultureInfo.InvariantCulture)), "adversarial confidence, float32");
            Assert.That(row[6], Is.EqualTo(a == 2 ? "true" : "false"), "success");
            var d = ((written.to_type(ScalarType.Float64) * 255).round() - (original.to_type(ScalarType.Float64) * 255).round()).flatten();
            Assert.That(row[7], Is.EqualTo((Math.Sqrt(d.square().sum().item<double>()) / 255).ToString("F6", CultureInfo.InvariantCulture)), "L2");
            Assert.That(row[8], Is.EqualTo((d.abs().max().item<double>() / 255).ToString("F6", CultureInfo.InvariantCulture)), "L-inf");
        }
    }

    [Test]
    public void AnUnknownPrecisionIsRefusedWithOneLine([Values("attack", "explain", "robustness", "bench")] string command)
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        string[] args = command switch
        {
            "attack" => ["attack", "--model", "no-such-model.onnx", "--images", TestData.TempFolder(), "--precision", "fp8", .. Roots(output)],
            "explain" => ["explain", "--model", "no-such-model.onnx", "--images", TestData.TempFolder(), "--precision", "fp8", .. Roots(output)],
            "robustness" => ["robustness", "--model", "no-such-model.onnx", "--precision", "fp8", .. Roots(output)],
            _ => ["bench", "--model", "no-such-model.onnx", "--precision", "fp8"],
        };
        var (code, _, error) = Run(args);
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput), error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("--precision").And.Contain("fp8"), "refused before the model is looked at");
    }
}
