using Repro.Data;
using Repro.Models.Formats;
using Repro.Models.Formats.Onnx;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>--model PATH: the format from the content, preprocessing from the file or the options, outputs made into logits.</summary>
public class ModelSourceTests
{
    static readonly ReproPaths NoData = new(Path.Combine(Path.GetTempPath(), "repro-no-data"), Path.Combine(Path.GetTempPath(), "repro-no-models"));

    static string Copy(string kind, string file, string newName)
    {
        string path = Path.Combine(TestData.TempFolder(), newName);
        File.Copy(Path.Combine(Fixture.Folder(kind), file), path);
        return path;
    }

    [Test]
    public void TheFormatComesFromTheContentNotTheName()
    {
        Assert.That(ModelFormatDetector.Detect(Copy("onnx", "allops_opset13.onnx", "model.tflite")), Is.EqualTo(ModelFormat.Onnx));
        Assert.That(ModelFormatDetector.Detect(Copy("torchscript", "traced.pt", "model.onnx")), Is.EqualTo(ModelFormat.TorchScript));
        Assert.That(ModelFormatDetector.Detect(TinyTflite.Write(TfliteOperatorGraph.Build(true), "model.pt")), Is.EqualTo(ModelFormat.Tflite));
    }

    [TestCase("state_dict")]
    [TestCase("pickle")]
    [TestCase("safetensors")]
    [TestCase("hdf5")]
    [TestCase("text")]
    [TestCase("empty")]
    public void FilesWithoutANetworkAreRefusedSayingWhatTheyAre(string kind)
    {
        string folder = TestData.TempFolder();
        string path = Path.Combine(folder, "model.onnx");
        string expected;
        switch (kind)
        {
            case "state_dict": File.Copy(Path.Combine(Fixture.Folder("torchscript"), "state_dict.pth"), path); expected = "weights without an architecture"; break;
            case "pickle": File.WriteAllBytes(path, [0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]); expected = "weights without an architecture"; break;
            case "safetensors": File.WriteAllBytes(path, [.. BitConverter.GetBytes(2L), (byte)'{', (byte)'}']); expected = "safetensors"; break;
            case "hdf5": File.WriteAllBytes(path, [0x89, (byte)'H', (byte)'D', (byte)'F', 13, 10, 26, 10, 0]); expected = "Keras"; break;
            case "text": File.WriteAllText(path, "hello, I am not a model\n"); expected = "not a model format Repro recognises"; break;
            default: File.WriteAllBytes(path, []); expected = "empty"; break;
        }
        var error = Assert.Catch<ReproInputException>(() => ModelSource.Load(path, NoData).Dispose());
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain(path).And.Contain(expected));
    }

    [Test]
    public void AnOnnxFileGetsTheDefaultNormalisationInside()
    {
        string path = Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx");
        using var loaded = ModelSource.Load(path, NoData);
        using var raw = OnnxImporter.Load(path);
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 16, 16);
        var mean = tensor(ModelImportOptions.ImageNetMean).reshape(1, 3, 1, 1);
        var std = tensor(ModelImportOptions.ImageNetStd).reshape(1, 3, 1, 1);

        Assert.That(Compare.RelativeError(loaded.Module.call(images), raw.call((images - mean) / std)), Is.LessThan(1e-6));
        Assert.That(loaded.Preprocessing, Does.Contain("default ImageNet"));
        Assert.That(loaded.Classes.Names[3], Is.EqualTo("class 3"));
        Assert.That(loaded.Input, Is.EqualTo((3, 16, 16)));
    }

    [Test]
    public void OnnxImageMetadataDecidesChannelOrderAndRange()
    {
        string path = Path.Combine(Fixture.Folder("onnx"), "metadata_bgr_opset13.onnx");
        using var loaded = ModelSource.Load(path, NoData);
        using var raw = OnnxImporter.Load(path);
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 16, 16);

        // Bgr8 and Normalized_1_1: the network sees 2p - 1 in blue, green, red order.
        Assert.That(Compare.RelativeError(loaded.Module.call(images), raw.call((images * 2 - 1).flip(1))), Is.LessThan(1e-6));
        Assert.That(loaded.Preprocessing, Does.Contain("Normalized_1_1").And.Contain("Bgr8"));
        var error = Assert.Catch<ReproInputException>(() => ModelSource.Load(path, NoData, new ModelImportOptions { Mean = [0.5f] }));
        Assert.That(error!.Message, Does.Contain("options.Mean").And.Contain("Normalized_1_1").And.Not.Contain("--"));
    }

    [Test]
    public void ATfliteFilesInputQuantisationDecidesItsPreprocessing()
    {
        string quantised = TinyTflite.Write(TfliteOperatorGraph.Build(true), "uint8.tflite");
        string floating = TinyTflite.Write(TfliteOperatorGraph.Build(false), "float.tflite");
        using var a = ModelSource.Load(quantised, NoData);
        using var b = ModelSource.Load(floating, NoData, new ModelImportOptions { Mean = [0.5f, 0.5f, 0.5f], Std = [0.5f, 0.5f, 0.5f] });
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 8, 8);

        Assert.That(a.Preprocessing, Does.Contain("input quantisation").And.Contain("1.992 p -1 "));
        Assert.That(b.Preprocessing, Does.Contain("options.Mean and options.Std"));
        // uint8: 255/128 p - 1 from the file; float with mean = std = 0.5: 2p - 1. Nearly the same view of the pixels.
        var expected = TfliteOperatorGraph.Reference(images.to_type(ScalarType.Float64), quantisedInput: true).Logits;
        Assert.That(Compare.RelativeError(a.Module.call(images), expected), Is.LessThan(1e-5));
        var error = Assert.Catch<ReproInputException>(() => ModelSource.Load(quantised, NoData, new ModelImportOptions { Std = [0.2f] }));
        Assert.That(error!.Message, Does.Contain("quantised input"));
    }

    [Test]
    public void ATorchScriptFileTakesItsSizeAndNormalisationFromTheOptions()
    {
        var fixture = Fixture.Load("torchscript", "traced", ".pt");
        using var loaded = ModelSource.Load(fixture.ModelPath, NoData, new ModelImportOptions { InputSize = (16, 16), Mean = [0.5f], Std = [0.5f] });
        using var scope = NewDisposeScope();
        // The fixture's input is the network's own, in [-1,1]: p = (x + 1) / 2 is the image that maps to it.
        var images = (fixture.Input + 1) / 2;
        Assert.That(Compare.RelativeError(loaded.Module.call(images), fixture.Output), Is.LessThan(1e-5));
        Assert.That(loaded.Input, Is.EqualTo((3, 16, 16)));
        Assert.That(loaded.Module.parameters().Count(), Is.EqualTo(11), "the script's parameters are reachable through the wrapper (attacks freeze them)");
    }

    [Test]
    public void ProbabilitiesBecomeLogProbabilitiesAndTheChoiceIsSaid()
    {
        // Softmax followed by a non-shape operator (Add 0) is not dropped structurally: the probe sees probabilities.
        var model = OnnxBuilder.Classifier();
        model.Graph.Node[^1].Output[0] = "scores";
        model.Graph.Node.Add(OnnxBuilder.Node("Softmax", ["scores"], ["p"], "softmax", ("axis", 1L)));
        model.Graph.Initializer.Add(OnnxBuilder.Floats("zero", [1], seed: 9));
        model.Graph.Initializer[^1].FloatData[0] = 0f;
        model.Graph.Node.Add(OnnxBuilder.Node("Add", ["p", "zero"], ["y"], "plus_zero"));
        string path = OnnxBuilder.Write(model);
        using var loaded = ModelSource.Load(path, NoData);
        using var raw = OnnxImporter.Load(path);
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 8, 8);
        var mean = tensor(ModelImportOptions.ImageNetMean).reshape(1, 3, 1, 1);
        var std = tensor(ModelImportOptions.ImageNetStd).reshape(1, 3, 1, 1);

        var logits = loaded.Module.call(images);
        Assert.That(loaded.Notes, Has.Some.Contains("probabilities"));
        Assert.That(Compare.RelativeError(logits.softmax(1), raw.call((images - mean) / std)), Is.LessThan(1e-5), "softmax of the logits gives the file's probabilities back");
    }

    [TestCase(null, 1000, true, "background")]
    [TestCase(1000, 1000, true, "taken as a background class")]
    [TestCase(1001, 1001, false, "")]
    public void ABackgroundClassIsDroppedAsTheFileOrLabelsSay(int? labels, int classes, bool dropped, string note)
    {
        string folder = TestData.TempFolder();
        string path = OnnxBuilder.Write(OnnxBuilder.Classifier(classes: 1001), "classifier1001.onnx", folder);
        string? labelsPath = null;
        if (labels is int n)
        {
            labelsPath = Path.Combine(folder, "labels.txt");
            File.WriteAllLines(labelsPath, Enumerable.Range(0, n).Select(i => $"thing {i}"));
        }
        using var loaded = ModelSource.Load(path, NoData, new ModelImportOptions { LabelsPath = labelsPath });
        using var logits = loaded.Module.call(rand(2, 3, 8, 8));

        Assert.That(loaded.Classes.Count, Is.EqualTo(classes));
        Assert.That(logits.shape[1], Is.EqualTo(classes));
        Assert.That(((ImportedModel)loaded.Module).DropsBackground, Is.EqualTo(dropped));
        if (note.Length > 0) Assert.That(loaded.Notes, Has.Some.Contains(note));
    }

    [Test]
    public void LabelsThatDoNotFitAreRefused()
    {
        string folder = TestData.TempFolder();
        string path = OnnxBuilder.Write(OnnxBuilder.Classifier(classes: 5), "five.onnx", folder);
        string labels = Path.Combine(folder, "labels.txt");
        File.WriteAllLines(labels, ["a", "b"]);
        var error = Assert.Catch<ReproInputException>(() => ModelSource.Load(path, NoData, new ModelImportOptions { LabelsPath = labels }));
        Assert.That(error!.Message, Does.Contain(labels).And.Contain("2 labels").And.Contain("5 outputs"));
    }

    [Test]
    public void TheMobileNetV2FileByPathGivesTheBuiltInModelsLogitsAndItsOwnLabels()
    {
        string path = MobileNetV2File.Require();
        string labels = Path.Combine(Path.GetDirectoryName(path)!, "imagenet_labels.txt");
        using var byPath = ModelSource.Load(path, NoData, new ModelImportOptions { LabelsPath = labels });
        var builtIn = MobileNetV2File.Network;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = rand(2, 3, 224, 224);

        Assert.That(byPath.Classes.Count, Is.EqualTo(1000));
        Assert.That(byPath.Classes.Names[1], Does.StartWith("goldfish"), "imagenet_labels.txt names output 0 'background': dropped");
        Assert.That(byPath.Classes.Resolve("goldfish"), Is.EqualTo(1));
        Assert.That(byPath.Notes, Has.Some.Contains("background"));
        Assert.That(byPath.Preprocessing, Does.Contain("input quantisation"));
        Assert.That(Compare.RelativeError(byPath.Module.call(images), builtIn.call(images)), Is.LessThan(1e-6));
    }

    [Test]
    public void BuiltInModelsRefuseFileOptions()
    {
        var error = Assert.Catch<ReproInputException>(() => ModelSource.Load("mobilenet_v2", NoData, new ModelImportOptions { Mean = [0.5f] }));
        Assert.That(error!.Message, Does.Contain("options.Mean").And.Contain("mobilenet_v2").And.Not.Contain("--"));
        var unknown = Assert.Catch<ReproInputException>(() => ModelSource.Load("no-such-model", NoData));
        Assert.That(unknown!.Message, Does.Contain("no-such-model").And.Contain("resnet18"));
    }

    [Test]
    public void AnImportedModelIsDifferentiableWithRespectToItsImages()
    {
        using var loaded = ModelSource.Load(Path.Combine(Fixture.Folder("onnx"), "allops_opset17.onnx"), NoData);
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 16, 16).requires_grad_(true);
        loaded.Module.call(images).select(1, 3).sum().backward();
        Assert.That(images.grad!.abs().max().item<float>(), Is.GreaterThan(0f));
        Assert.That(images.grad!.isfinite().all().item<bool>(), Is.True);
    }
}
