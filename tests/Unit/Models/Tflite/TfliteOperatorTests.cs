using Repro.Models.Tflite;
using Repro.Tests.Unit.Models.Formats;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>
/// The TFLite operators beyond MobileNet's (FULLY_CONNECTED, MUL, SUB, MAX_POOL_2D, MEAN, SQUEEZE,
/// CONCATENATION, PAD, HARD_SWISH, LOGISTIC, RELU, RELU6, QUANTIZE/DEQUANTIZE; int8 per-channel,
/// uint8 per-tensor and float16 weights; float and uint8 inputs) against a float64 reference
/// computed from the file's dequantised weights: outputs, representation and input gradients.
/// </summary>
public class TfliteOperatorTests
{
    [TestCase(true)]
    [TestCase(false)]
    public void EveryOperatorMatchesTheFloat64Reference(bool quantisedInput)
    {
        string path = TinyTflite.Write(TfliteOperatorGraph.Build(quantisedInput), quantisedInput ? "ops-uint8.tflite" : "ops-float.tflite");
        using var network = TfliteImporter.Load(path);
        using var scope = NewDisposeScope();
        foreach (var p in network.parameters()) p.requires_grad = false;
        var images = rand([3, 3, 8, 8], generator: new Generator(5));
        var x = images.clone().requires_grad_(true);
        var x64 = images.to_type(ScalarType.Float64).requires_grad_(true);
        var weights = rand([3, TfliteOperatorGraph.Classes], generator: new Generator(6));

        var logits = network.call(x);
        (logits * weights).sum().backward();
        var (expected, expectedRepresentation) = TfliteOperatorGraph.Reference(x64, quantisedInput);
        (expected * weights.to_type(ScalarType.Float64)).sum().backward();

        double outputError = Compare.RelativeError(logits, expected);
        double gradientError = Compare.RelativeError(x.grad!, x64.grad!);
        double representationError = Compare.RelativeError(network.Representation(images), expectedRepresentation);
        TestContext.Out.WriteLine($"{(quantisedInput ? "uint8" : "float")} input: {network.Steps.Count} steps, logits error {outputError:E2}, representation error {representationError:E2}, " +
                                  $"input-gradient error {gradientError:E2}; operators {string.Join(",", network.Steps.Select(s => s.Operator.Code).Distinct())}; notes: {string.Join(" | ", network.Notes)}");
        Assert.That(logits.shape, Is.EqualTo(new long[] { 3, TfliteOperatorGraph.Classes }), "the softmax is dropped; nothing else");
        Assert.That(outputError, Is.LessThan(1e-5));
        Assert.That(representationError, Is.LessThan(1e-5));
        Assert.That(gradientError, Is.LessThan(1e-4));
        Assert.That(x64.grad!.abs().max().item<double>(), Is.GreaterThan(0), "the reference gradient is not zero");
        Assert.That(network.InputIsQuantised, Is.EqualTo(quantisedInput));
        Assert.That(network.Classifier, Is.InstanceOf<TfFullyConnected>());
        Assert.That(network.RepresentationSize, Is.EqualTo(8));
    }

    [Test]
    public void TheGraphUsesEveryOperatorTheImporterSupports()
    {
        var model = TfliteFile.Parse(TfliteOperatorGraph.Build(quantisedInput: false), "ops.tflite");
        var tiny = TfliteFile.Parse(TinyTflite.Build(), "tiny.tflite");
        var used = model.Operators.Concat(tiny.Operators).Select(o => o.Code).ToHashSet();
        Assert.That(TfliteImporter.Supported.Except(used), Is.Empty, "operators no test graph exercises");
    }

    [Test]
    public void AnInt8InputIsScaledAsItsQuantisationSays()
    {
        var g = new TfliteGraphBuilder();
        int input = g.Activation("image", [1, 2, 2, 3], TfliteTensorType.INT8, 1f / 255, -128);
        int features = g.Activation("features", [1, 12]);
        g.Operator(TfliteOperatorCode.RESHAPE, [input], [features], 17, TfliteGraphBuilder.Options(1, (0, new[] { 1, 12 })));
        int w = g.Floats("w", [4, 12], Enumerable.Range(0, 48).Select(i => i % 5 - 2f).ToArray());
        int y = g.Activation("y", [1, 4]);
        g.Operator(TfliteOperatorCode.FULLY_CONNECTED, [features, w], [y], 8, TfliteGraphBuilder.Options(4, (0, (sbyte)0)));
        using var network = TfliteImporter.Load(TinyTflite.Write(g.Build(input, y), "int8.tflite"));

        // Bytes q = 255 p - 128, dequantised (q + 128) / 255: the model sees p itself.
        Assert.That(network.InputScaling.Gain, Is.EqualTo(1f).Within(1e-6));
        Assert.That(network.InputScaling.Offset, Is.EqualTo(0f).Within(1e-6));
        using var images = rand(2, 3, 2, 2);
        using var logits = network.call(images);
        using var expected = images.permute(0, 2, 3, 1).reshape(2, 12).matmul(tensor(Enumerable.Range(0, 48).Select(i => i % 5 - 2f).ToArray(), [4, 12]).t());
        Assert.That(logits.allclose(expected, rtol: 1e-5, atol: 1e-5), Is.True, "the flatten follows TensorFlow's NHWC order");
    }
}
