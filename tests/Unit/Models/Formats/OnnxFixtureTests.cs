using Repro.Models.Formats.Onnx;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>
/// The ONNX importer against PyTorch: small models exported by torch.onnx.export at opsets 9, 11, 13
/// and 17, and hand-written graphs at opsets 7, 18 and 21 (fixtures/make_fixtures.py), each with
/// PyTorch's outputs and input gradients as the reference.
/// </summary>
public class OnnxFixtureTests
{
    public static readonly string[] Models =
    [
        "allops_opset9", "allops_opset11", "allops_opset13", "allops_opset17",
        "softmax_opset11", "logsoftmax_opset13", "allops_batch1_opset13",
        "handmade_opset7", "handmade_opset18", "handmade_opset21", "batch1_reshape_opset13",
    ];

    [TestCaseSource(nameof(Models))]
    public void OutputsAndInputGradientsMatchPyTorch(string name)
    {
        var fixture = Fixture.Load("onnx", name, ".onnx");
        using var network = OnnxImporter.Load(fixture.ModelPath);
        using var scope = NewDisposeScope();
        foreach (var p in network.parameters()) p.requires_grad = false;
        var x = fixture.Input.clone().requires_grad_(true);

        var output = network.call(x);
        (output * fixture.Weights).sum().backward();

        double outputError = Compare.RelativeError(output, fixture.Output);
        double gradientError = Compare.RelativeError(x.grad!, fixture.Gradient);
        TestContext.Out.WriteLine($"{name}: opset {network.Opset}, {network.Steps.Count} steps, output error {outputError:E2}, input-gradient error {gradientError:E2}; notes: {string.Join(" | ", network.Notes)}");
        Assert.That(outputError, Is.LessThan(1e-5), "outputs, relative to the largest");
        Assert.That(gradientError, Is.LessThan(1e-5), "input gradients, relative to the largest");
        Assert.That(fixture.Gradient.abs().max().item<float>(), Is.GreaterThan(0f), "the reference gradient is not trivially zero");
    }

    /// <summary>Every operator the importer lists occurs in at least one fixture that runs it (constant-folded nodes included).</summary>
    [Test]
    public void TheFixturesCoverEverySupportedOperator()
    {
        var seen = new HashSet<string>();
        foreach (string name in Models)
        {
            var model = OnnxFile.Read(Path.Combine(Fixture.Folder("onnx"), name + ".onnx"));
            foreach (var node in model.Graph.Node) seen.Add(node.OpType);
        }
        Assert.That(OnnxOperators.Supported.Except(seen), Is.Empty, "operators no fixture exercises");
    }

    [Test]
    public void ATerminalSoftmaxIsDroppedAndSaid()
    {
        using var network = OnnxImporter.Load(Path.Combine(Fixture.Folder("onnx"), "softmax_opset11.onnx"));
        Assert.That(network.Notes, Has.Some.Contains("ends in Softmax").And.Some.Contains("logits"));
        Assert.That(network.Steps.Select(s => s.Op.Node.OpType), Has.None.EqualTo("Softmax"));
    }

    [Test]
    public void AFileThatFixesABatchOfOneRunsImagesOneAtATime()
    {
        using var network = OnnxImporter.Load(Path.Combine(Fixture.Folder("onnx"), "batch1_reshape_opset13.onnx"));
        Assert.That(network.PerExample, Is.True, "a constant Reshape to [1,-1] cannot take two images");
        Assert.That(network.Notes, Has.Some.Contains("one at a time"));
        using var exported = OnnxImporter.Load(Path.Combine(Fixture.Folder("onnx"), "allops_batch1_opset13.onnx"));
        Assert.That(exported.PerExample, Is.False, "PyTorch's Shape/Gather flatten follows the batch even where the input declares one image");
    }

    [Test]
    public void ShapeArithmeticIsFoldedAtImport()
    {
        using var network = OnnxImporter.Load(Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx"));
        var kinds = network.Steps.Select(s => s.Op.Node.OpType).ToArray();
        Assert.That(kinds, Has.None.EqualTo("Shape").And.None.EqualTo("Gather").And.None.EqualTo("ConstantOfShape"));
        Assert.That(network.PerExample, Is.False);
        using var images = rand(5, 3, 16, 16);
        using var logits = network.call(images);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 5, 10 }), "the folded [N,-1] reshape follows the batch");
    }

    [Test]
    public void TheRepresentationIsTheInputOfTheFinalLinearLayer()
    {
        using var handmade = OnnxImporter.Load(Path.Combine(Fixture.Folder("onnx"), "handmade_opset18.onnx"));
        using var network = OnnxImporter.Load(Path.Combine(Fixture.Folder("onnx"), "softmax_opset11.onnx"));
        using var scope = NewDisposeScope();
        var x = rand(3, 3, 16, 16);
        Assert.That(handmade.HasRepresentation, Is.False, "the hand-written graph ends in softmax arithmetic, not a linear layer");
        Assert.That(network.HasRepresentation, Is.True, "the exported model ends in a Gemm (once its softmax is dropped)");
        var representation = network.Representation(x);
        Assert.That(representation.shape, Is.EqualTo(new long[] { 3, 16 }));
        Assert.That(Compare.RelativeError(network.Head(representation), network.call(x)), Is.LessThan(1e-6));
    }

    [Test]
    public void OfSeveralOutputsTheOnlyClassScoresAreChosenOrTheUserNamesOne()
    {
        var model = OnnxBuilder.Classifier();
        model.Graph.Output.Add(OnnxBuilder.Output("c"));
        using (var chosen = OnnxImporter.Load(OnnxBuilder.Write(model)))
        {
            Assert.That(chosen.OutputName, Is.EqualTo("y"));
            Assert.That(chosen.Notes, Has.Some.Contains("using 'y' [1,5]"));
        }
        model.Graph.Output.Add(OnnxBuilder.Output("f"));
        string ambiguous = OnnxBuilder.Write(model);
        var error = Assert.Throws<ReproInputException>(() => OnnxImporter.Load(ambiguous));
        Assert.That(error!.Message, Does.Contain("'y' [1,5]").And.Contain("'f' [1,4]").And.Contain("options.OutputName"));
        using var named = OnnxImporter.Load(ambiguous, new OnnxImportOptions { OutputName = "f" });
        Assert.That(named.ClassCount, Is.EqualTo(4));
    }

    [Test]
    public void AnOutputThatNeedsAnUnsupportedOperatorIsSetAsideWithANote()
    {
        var model = OnnxBuilder.Classifier();
        model.Graph.Node.Add(OnnxBuilder.Node("ArgMax", ["y"], ["label"], "predicted_label", ("axis", 1L)));
        model.Graph.Output.Add(OnnxBuilder.Output("label"));
        using var network = OnnxImporter.Load(OnnxBuilder.Write(model));
        Assert.That(network.OutputName, Is.EqualTo("y"));
        Assert.That(network.Notes, Has.Some.Contains("'label' is not read").And.Some.Contains("ArgMax"));
    }
}
