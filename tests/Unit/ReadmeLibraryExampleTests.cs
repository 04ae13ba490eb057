using Repro.Attacks;
using Repro.Data;
using Repro.Explain;
using Repro.Models.Formats;
using Repro.Tests.Unit.Models.Formats;
using static TorchSharp.torch;

namespace Repro.Tests.Unit;

/// <summary>
/// The README's five library lines (section "Install"), run as written on a small ONNX classifier
/// (x [N,3,8,8] -> 5 classes, <see cref="OnnxBuilder.Classifier"/>) instead of a downloaded ResNet18, so
/// the example cannot silently stop compiling or working.
/// </summary>
public class ReadmeLibraryExampleTests
{
    [Test]
    public void TheFiveLinesLoadAttackAndExplain()
    {
        using var scope = NewDisposeScope();
        string file = OnnxBuilder.Write(OnnxBuilder.Classifier());
        var images = rand(new long[] { 4, 3, 8, 8 }, generator: new Generator(7));

        // --- the README's lines, with the file name replaced ---
        using var model = ModelSource.Load(file, ReproPaths.Resolve());  // [N,3,H,W] in [0,1] -> [N,classes] logits
        var labels = model.Module.forward(images).argmax(1);
        using var attack = Pgd.Run(CrossEntropyObjective.Untargeted(model.Module, labels), new L2Ball(1.25), images, new PgdOptions { Steps = 20, StepSize = 0.5 });
        var maps = new SmoothGrad(new VanillaGradient(model.Module), samples: 50, sigma: 0.15).Attribute(images, AttributionTarget.Logit(labels));
        // ---

        Assert.That(attack.L2.max().item<float>(), Is.LessThanOrEqualTo(1.25f * 1.0001f), "the attack stays in the ball");
        Assert.That(attack.Adversarial.shape, Is.EqualTo(images.shape));
        Assert.That(maps.shape, Is.EqualTo(images.shape), "one attribution per pixel");
        Assert.That(maps.abs().sum().item<float>(), Is.GreaterThan(0f), "the attribution is not all zero");
        Assert.That(attack.Success.sum().item<long>(), Is.GreaterThan(0L), "eps 1.25 moves a random 5-class model's prediction on some of the 4 images");
    }
}
