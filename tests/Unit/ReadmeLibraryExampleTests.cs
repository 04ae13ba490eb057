using Repro.Attacks;
using Repro.Data;
using Repro.Evaluation;
using Repro.Explain;
using Repro.Models.Formats;
using Repro.Tests.Unit.Models.Formats;
using Repro.Tests.Unit.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit;

/// <summary>
/// The README's library lines (section "Install"), run as written on a small ONNX classifier
/// (x [N,3,8,8] -> 5 classes, <see cref="OnnxBuilder.Classifier"/>) instead of a downloaded ResNet18 and
/// three small JPEG photos, so the example cannot silently stop compiling or working. Replaced: the
/// model file, the photo folder, the PNG's path, and the crop (8 for this model's 8x8 input, not 224).
/// </summary>
public class ReadmeLibraryExampleTests
{
    [Test]
    public void TheLinesLoadPhotosAttackSaveExplainAndMeasureRobustAccuracy()
    {
        using var scope = NewDisposeScope();
        string file = OnnxBuilder.Write(OnnxBuilder.Classifier());
        string root = TestData.TempFolder(), photos = Directory.CreateDirectory(Path.Combine(root, "photos")).FullName, png = Path.Combine(root, "adversarial-0.png");
        var random = new Random(7);
        for (int i = 0; i < 3; i++)
        {
            using var bitmap = new SKBitmap(12, 10);
            for (int y = 0; y < 10; y++)
                for (int x = 0; x < 12; x++)
                    bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(Path.Combine(photos, $"photo-{i}.jpg"), data.ToArray());
        }

        // --- the README's lines, with the file names and the crop replaced ---
        using var model = ModelSource.Load(file, ReproPaths.Resolve());  // [N,3,H,W] in [0,1] -> [N,classes] logits
        var files = Directory.GetFiles(photos, "*.jpg").Order().ToArray();
        var images = stack(files.Select(f => ImageFile.LoadResizedCentreCrop(f, resize: 9, crop: 8)).ToArray());  // [N,3,224,224] in [0,1]
        var labels = model.Module.forward(images).argmax(1);                       // or your own int64 [N] labels
        using var attack = Pgd.Run(CrossEntropyObjective.Untargeted(model.Module, labels), images, new L2Ball(1.25), new AttackRun(0), new PgdOptions { Steps = 20, StepSize = 0.5 });
        ImageFile.SavePng(attack.Adversarial[0], png);              // [3,H,W] in [0,1] -> 8-bit PNG
        var maps = new SmoothGrad(new VanillaGradient(model.Module), samples: 50, sigma: 0.15).Attribute(images, AttributionTarget.Logit(labels));
        var robust = RobustAccuracy.Evaluate("resnet18", model.Module, images, labels, files.Select(ExampleIds.OfName).ToArray(),
            new RobustnessSettings { Norm = Norm.L2, Eps = [0.5], Attacks = AttackCatalog.Standard(model.Classes.Count) });
        Console.WriteLine($"robust accuracy at L2 0.5: {robust.PerEps[0].RobustAccuracy:P1}");  // APGD-CE, APGD-T, FAB-T, Square 5,000
        // ---

        Assert.That(images.shape, Is.EqualTo(new long[] { 3, 3, 8, 8 }));
        Assert.That(attack.L2.max().item<float>(), Is.LessThanOrEqualTo(1.25f * 1.0001f), "the attack stays in the ball");
        Assert.That(attack.Adversarial.shape, Is.EqualTo(images.shape));
        using (var written = ImageFile.Load(png))
            Assert.That(written.sub(attack.Adversarial[0]).abs().max().item<float>(), Is.LessThanOrEqualTo(0.5f / 255 + 1e-6f), "the PNG is the adversarial image on the 8-bit grid");
        Assert.That(maps.shape, Is.EqualTo(images.shape), "one attribution per pixel");
        Assert.That(maps.abs().sum().item<float>(), Is.GreaterThan(0f), "the attribution is not all zero");
        Assert.That(robust.Attacks.Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-t", "fab-t", "square" }));
        Assert.That(robust.Examples, Is.EqualTo(3));
        Assert.That(robust.PerEps[0].RobustAccuracy, Is.InRange(0.0, robust.CleanAccuracy), "robust accuracy never above clean");
    }
}
