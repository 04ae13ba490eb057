using Repro.Models.Tflite;

namespace Repro.Tests.Unit.Models.Tflite;

public class TfliteFileTests
{
    [Test]
    public void TheTinyFileReadsBackAsWritten()
    {
        var model = TfliteFile.Parse(TinyTflite.Build(classes: 1001), "tiny.tflite");

        Assert.That(model.Version, Is.EqualTo(3u));
        Assert.That(model.Tensors, Has.Count.EqualTo(15));
        Assert.That(model.Inputs, Is.EqualTo(new[] { TinyTflite.Input }));
        Assert.That(model.Outputs, Is.EqualTo(new[] { TinyTflite.Probabilities }));

        var input = model.Tensors[TinyTflite.Input];
        Assert.That(input.Name, Is.EqualTo("input"));
        Assert.That(input.Shape, Is.EqualTo(new[] { 1, 4, 4, 1 }));
        Assert.That(input.Type, Is.EqualTo(TfliteTensorType.UINT8));
        Assert.That(input.IsConstant, Is.False);
        Assert.That(input.Quantization!.Scale, Is.EqualTo(new[] { 1f / 128 }));
        Assert.That(input.Quantization.ZeroPoint, Is.EqualTo(new long[] { 128 }));

        var weights = model.Tensors[TinyTflite.ConvWeight];
        Assert.That(weights.Shape, Is.EqualTo(new[] { 2, 3, 3, 1 }));
        Assert.That(weights.Data.ToArray(), Is.EqualTo(TinyTflite.ConvWeights));
        Assert.That(model.Tensors[TinyTflite.ConvBias].Type, Is.EqualTo(TfliteTensorType.INT32));
        Assert.That(model.Tensors[TinyTflite.ReshapeShape].Quantization, Is.Null);

        // Opcode resolution: CONV_2D is stored old-style (deprecated field only), the rest new-style.
        Assert.That(model.Operators.Select(o => o.Code), Is.EqualTo(new[]
        {
            TfliteOperatorCode.CONV_2D, TfliteOperatorCode.DEPTHWISE_CONV_2D, TfliteOperatorCode.ADD, TfliteOperatorCode.AVERAGE_POOL_2D,
            TfliteOperatorCode.CONV_2D, TfliteOperatorCode.RESHAPE, TfliteOperatorCode.SOFTMAX,
        }));
        Assert.That(model.Operators[0].Inputs, Is.EqualTo(new[] { TinyTflite.Input, TinyTflite.ConvWeight, TinyTflite.ConvBias }));
        Assert.That(model.Operators[0].Options, Is.EqualTo(new TfliteConvOptions(TflitePadding.SAME, 2, 2, 1, 1, TfliteActivation.RELU6)));
        Assert.That(model.Operators[1].Options, Is.EqualTo(new TfliteDepthwiseConvOptions(TflitePadding.SAME, 1, 1, 1, 1, 1, TfliteActivation.NONE)));
        Assert.That(model.Operators[2].Options, Is.EqualTo(new TfliteAddOptions(TfliteActivation.RELU)));
        Assert.That(model.Operators[3].Options, Is.EqualTo(new TflitePoolOptions(TflitePadding.VALID, 2, 2, 2, 2, TfliteActivation.NONE)));
        Assert.That(((TfliteReshapeOptions)model.Operators[5].Options!).NewShape, Is.EqualTo(new[] { 1, 1001 }));
        Assert.That(model.Operators[6].Options, Is.EqualTo(new TfliteSoftmaxOptions(1f)));
    }

    [Test]
    public void ATruncatedFileIsRefusedNamingTheFile()
    {
        byte[] whole = TinyTflite.Build();
        string path = TinyTflite.Write(whole[..(whole.Length / 2)], "truncated.tflite");

        var error = Assert.Throws<ReproInputException>(() => TfliteFile.Read(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("truncated"));

        string tiny = TinyTflite.Write(whole[..6], "stub.tflite");
        error = Assert.Throws<ReproInputException>(() => TfliteFile.Read(tiny));
        Assert.That(error!.Message, Does.Contain(tiny).And.Contain("too short"));
    }

    [Test]
    public void EveryTruncationEitherReadsOrIsRefusedAsCorrupt()
    {
        // Whatever the cut, the reader must not fail with an index or overflow exception.
        byte[] whole = TinyTflite.Build(classes: 3);
        int refused = 0;
        for (int length = 0; length < whole.Length; length++)
        {
            try
            {
                TfliteFile.Parse(whole[..length], "cut.tflite");
            }
            catch (ReproInputException error)
            {
                Assert.That(error.Message, Does.StartWith("cut.tflite: "));
                refused++;
            }
        }
        Assert.That(refused, Is.GreaterThan(whole.Length / 2));
    }

    [Test]
    public void AFileWithoutTheTfl3IdentifierIsRefused()
    {
        string path = TinyTflite.Write(TinyTflite.Build(identifier: "ONNX"), "model.onnx");

        var error = Assert.Throws<ReproInputException>(() => TfliteFile.Read(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("TFL3").And.Contain("'ONNX'"));
    }

    [Test]
    public void AMissingFileIsNamed()
    {
        string path = Path.Combine(Repro.Tests.Unit.Support.TestData.TempFolder(), "absent.tflite");
        var error = Assert.Throws<ReproInputException>(() => TfliteFile.Read(path));
        Assert.That(error!.Message, Does.Contain(path));
    }

    [Test]
    public void TheMobileNetV2FileHasTheExpectedOperatorsAndInput()
    {
        var model = TfliteFile.Read(MobileNetV2File.Require());

        var counts = model.OperatorCounts();
        Assert.That(counts, Is.EquivalentTo(new Dictionary<TfliteOperatorCode, int>
        {
            [TfliteOperatorCode.CONV_2D] = 36,
            [TfliteOperatorCode.DEPTHWISE_CONV_2D] = 17,
            [TfliteOperatorCode.ADD] = 10,
            [TfliteOperatorCode.AVERAGE_POOL_2D] = 1,
            [TfliteOperatorCode.RESHAPE] = 1,
            [TfliteOperatorCode.SOFTMAX] = 1,
        }));

        var input = model.Tensors[model.Inputs.Single()];
        Assert.That(input.Shape, Is.EqualTo(new[] { 1, 224, 224, 3 }));
        Assert.That(input.Type, Is.EqualTo(TfliteTensorType.UINT8));
        Assert.That(input.Quantization!.Scale.Single(), Is.EqualTo(1f / 128).Within(1e-6));
        Assert.That(input.Quantization.ZeroPoint.Single(), Is.EqualTo(128));
        Assert.That(model.Tensors[model.Outputs.Single()].Shape, Is.EqualTo(new[] { 1, 1001 }));

        // Every convolution carries uint8 weights and an int32 bias (batch norm folded in).
        foreach (var op in model.Operators.Where(o => o.Code is TfliteOperatorCode.CONV_2D or TfliteOperatorCode.DEPTHWISE_CONV_2D))
        {
            Assert.That(model.Tensors[op.Inputs[1]].Type, Is.EqualTo(TfliteTensorType.UINT8), op.Describe());
            Assert.That(model.Tensors[op.Inputs[2]].Type, Is.EqualTo(TfliteTensorType.INT32), op.Describe());
        }
    }
}
