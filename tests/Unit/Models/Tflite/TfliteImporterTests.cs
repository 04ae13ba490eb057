using Repro.Data;
using Repro.Models;
using Repro.Models.Tflite;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Tflite;

public class TfliteImporterTests
{
    [Test]
    public void TheTinyNetworkComputesWhatTheNaiveReferenceComputes()
    {
        string path = TinyTflite.Write(TinyTflite.Build(classes: 1001));
        using var network = TfliteImporter.Load(path);
        var generator = new TorchSharp.torch.Generator(7);
        using var images = rand([3, 1, 4, 4], generator: generator);
        float[][] pixels = Enumerable.Range(0, 3).Select(n => images[n].flatten().data<float>().ToArray()).ToArray();
        var (expectedLogits, expectedPooled) = TinyTflite.Reference(pixels);

        using var logits = network.call(images);
        using var representation = network.Representation(images);

        Assert.That(network.InputScaling.Gain, Is.EqualTo(255f / 128).Within(1e-6), "from the input tensor's scale 1/128");
        Assert.That(network.InputScaling.Offset, Is.EqualTo(-1f).Within(1e-6), "from the input tensor's zero point 128");
        Assert.That(network.DropsBackground, Is.True);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 3, 1000 }));
        Assert.That(representation.shape, Is.EqualTo(new long[] { 3, 2 }));
        for (int n = 0; n < 3; n++)
        {
            Assert.That(representation[n].data<float>().ToArray(), Is.EqualTo(expectedPooled[n]).Within(1e-4));
            // Logit 0 of the file ("background") is dropped: output i is the file's output i + 1.
            Assert.That(logits[n].data<float>().ToArray(), Is.EqualTo(expectedLogits[n][1..]).Within(1e-4));
        }
        Assert.That(expectedPooled.SelectMany(p => p).Distinct().Count(), Is.GreaterThan(3), "the reference is not degenerate");
    }

    [Test]
    public void WithoutA1001stOutputNothingIsDropped()
    {
        using var network = TfliteImporter.Load(TinyTflite.Write(TinyTflite.Build(classes: 3)));
        using var images = full(2, 1, 4, 4, 0.3f);
        var (expected, _) = TinyTflite.Reference([Enumerable.Repeat(0.3f, 16).ToArray()], classes: 3);

        using var logits = network.call(images);

        Assert.That(network.DropsBackground, Is.False);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(logits[1].data<float>().ToArray(), Is.EqualTo(expected[0]).Within(1e-4));
    }

    [Test]
    public void WeightsAreRegisteredParametersThatCanBeFrozen()
    {
        using var network = TfliteImporter.Load(TinyTflite.Write(TinyTflite.Build(classes: 3)));
        var names = network.named_parameters().Select(p => p.name).ToArray();

        // Three convolutions with weight and bias each (pooling and ADD have no parameters).
        Assert.That(names, Has.Length.EqualTo(6));
        Assert.That(names, Does.Contain("classifier.weight").And.Contain("classifier.bias"));
        Assert.That(network.parameters().All(p => p.requires_grad), Is.True);
        foreach (var p in network.parameters()) p.requires_grad = false;
        Assert.That(network.parameters().Any(p => p.requires_grad), Is.False);
    }

    [Test]
    public void AnUnsupportedOperatorIsNamed()
    {
        string path = TinyTflite.Write(TinyTflite.Build(poolCode: 12));

        var error = Assert.Throws<ReproInputException>(() => TfliteImporter.Load(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("operator 3").And.Contain("builtin operator code 12")
            .And.Contain("supported: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED"));
    }

    [Test]
    public void AMissingMobileNetV2IsNamedWithTheSetting()
    {
        string root = TestData.TempFolder();
        var error = Assert.Throws<MissingInputsException>(() => TfliteImporter.LoadMobileNetV2(root));
        Assert.That(error!.Message, Does.Contain(TfliteImporter.MobileNetV2Path(root)).And.Contain(ReproPaths.ModelVariable));
    }

    [Test]
    public void MobileNetV2GivesThe1000ImageNetLogitsAndA1280Representation()
    {
        var network = MobileNetV2File.Network;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = rand(2, 3, 224, 224);

        var logits = network.call(images);
        var representation = network.Representation(images);

        Assert.That(network.InputScaling.Gain, Is.EqualTo(255f / 128).Within(1e-6));
        Assert.That(network.InputScaling.Offset, Is.EqualTo(-1f).Within(1e-6));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 1000 }));
        Assert.That(representation.shape, Is.EqualTo(new long[] { 2, 1280 }));
        Assert.That(network.Head(representation).allclose(logits, rtol: 1e-4, atol: 1e-4), Is.True, "logits = Head(Representation)");
        Assert.That(network.parameters().Count(), Is.EqualTo(2 * 53), "weight and bias of each of the 53 convolutions");
        Assert.That(network.Steps.Count(s => s.IsAdd), Is.EqualTo(10));
    }

    [Test]
    public void MobileNetV2IsDifferentiableWithRespectToItsInput()
    {
        var network = MobileNetV2File.Network;
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 224, 224).requires_grad_(true);

        var logits = network.call(images);
        logits.select(1, 1).sum().backward();   // class 1, goldfish
        var grad = images.grad!;

        Assert.That(grad.shape, Is.EqualTo(images.shape));
        Assert.That(grad.isfinite().all().item<bool>(), Is.True);
        Assert.That(grad.abs().max().item<float>(), Is.GreaterThan(0f));
        foreach (var p in network.parameters()) p.grad?.zero_();
    }

    [Test]
    public void MobileNetV2ClassifiesTheFirstValidationImages()
    {
        TestData.Require("imagenet/val");
        var val = ImageNetValidation.Open(TestData.Paths.DataRoot);
        var first = val.Samples.Take(64).ToList();

        var accuracy = ImageNetEvaluation.Evaluate(MobileNetV2File.Network, first, batchSize: 32);

        TestContext.Out.WriteLine($"MobileNetV2 (TFLite, float) on the first 64 validation images: {accuracy}");
        // Chance is 0.1%; the published model reaches about 71% top-1 on the full validation set.
        Assert.That(accuracy.Top1, Is.GreaterThan(0.4), accuracy.ToString());
        Assert.That(accuracy.Top5, Is.GreaterThanOrEqualTo(accuracy.Top1));
    }
}
