using Repro.Data;
using Repro.Data.Assets;
using Repro.Models;
using Repro.Tests.Unit.Models.Formats.PyTorch;
using Repro.Tests.Unit.Support;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models;

/// <summary>
/// The official torchvision weights cannot be downloaded here, so the loading path is tested with
/// a narrow ResNet's state_dict written by PyTorch 1.13 (fixtures beside PyTorchCheckpointTests),
/// with state_dicts of the same key layout written by TorchSharp.PyBridge (.pth and safetensors),
/// and the architecture against TorchSharp's own torchvision models.
/// </summary>
public class TorchvisionResNetTests
{
    [TestCase(".pth")]
    [TestCase(".safetensors")]
    public void AStateDictWithTorchvisionKeysRestoresEveryParameterAndBuffer(string extension)
    {
        using var _ = NewDisposeScope();
        manual_seed(11);
        var source = TorchvisionResNet.Create("resnet18");
        using (no_grad())
            foreach (var (name, buffer) in source.Network.named_buffers())
                if (name.EndsWith("running_mean")) buffer.uniform_(-0.1, 0.1);
        string path = Path.Combine(TestData.TempFolder(), "resnet18" + extension);
        if (extension == ".pth") source.Network.save_py(path); else source.Network.save_safetensors(path);

        var loaded = TorchvisionResNet.Load("resnet18", path);

        var expected = source.Network.state_dict();
        var actual = loaded.Network.state_dict();
        Assert.That(actual.Keys, Is.EquivalentTo(expected.Keys));
        Assert.That(actual.Keys, Does.Contain("fc.bias").And.Contain("layer4.1.bn2.running_var"));
        foreach (var key in expected.Keys)
            Assert.That(actual[key].equal(expected[key]).all().item<bool>(), Is.True, key);
        var x = rand(2, 3, 64, 64);
        Assert.That(loaded.forward(x).allclose(source.forward(x), atol: 1e-5), Is.True);
        Assert.That(loaded.Representation(x).shape, Is.EqualTo(new long[] { 2, 512 }));
    }

    [Test]
    public void AStateDictMissingAKeyIsRefusedNamingTheFile()
    {
        using var _ = NewDisposeScope();
        var source = TorchvisionResNet.Create("resnet18");
        string path = Path.Combine(TestData.TempFolder(), "partial.pth");
        source.Network.save_py(path, skip: ["fc.bias"]);
        var error = Assert.Throws<ReproInputException>(() => TorchvisionResNet.Load("resnet18", path));
        Assert.That(error!.Message, Does.Contain(path));
    }

    [Test]
    public void AnOfficialFileWithTheWrongHashIsRefused()
    {
        string root = TestData.TempFolder();
        File.WriteAllText(Path.Combine(root, AssetCatalogue.ResNet18.FileName), "not the weights");
        var error = Assert.Throws<ReproInputException>(() => ModelRegistry.Get("resnet18").Load(root));
        Assert.That(error!.Message, Does.Contain("f37072fd"));
    }

    [Test]
    public void AMissingModelSaysWhereToPutWhichFile()
    {
        string root = TestData.TempFolder();
        var entry = ModelRegistry.Get("resnet18");
        Assert.That(entry.IsPresent(root), Is.False);
        var error = Assert.Throws<MissingInputsException>(() => entry.Load(root));
        Assert.That(error!.Message, Does.Contain(root).And.Contain(AssetCatalogue.ResNet18.FileName).And.Contain(AssetCatalogue.ResNet18.Url));
        Assert.That(error.Fix, Does.Contain("repro fetch resnet18"));
        Assert.Throws<ReproInputException>(() => ModelRegistry.Get("vgg99"));
    }

    [Test]
    public void ANarrowResNetFromPyTorchGivesPyTorchsLogits()
    {
        using var _ = NewDisposeScope();
        var json = PyTorchFixtures.Json("basic-resnet.json");
        var shape = PyTorchFixtures.Shape(json, ResNetBlock.Basic);
        using var model = TorchvisionResNet.Load(shape, PyTorchFixtures.PathOf("basic-resnet.pth"));
        var images = PyTorchFixtures.Floats(json.GetProperty("images"), json.GetProperty("images_shape"));
        var expected = PyTorchFixtures.Floats(json.GetProperty("logits"), json.GetProperty("logits_shape"));
        using var __ = no_grad();
        double error = PyTorchFixtures.RelativeError(model.forward(images), expected);
        TestContext.Out.WriteLine($"basic-resnet.pth: max |logits - PyTorch's| / max |PyTorch's| = {error:E2}");
        Assert.That(error, Is.LessThan(1e-4));
    }

    [TestCase("resnet18")]
    [TestCase("resnet50")]
    public void TheArchitectureHasTorchvisionsKeysAndShapes(string architecture)
    {
        using var _ = NewDisposeScope();
        using var ours = TorchvisionResNet.Create(architecture);
        using nn.Module<Tensor, Tensor> theirs = architecture == "resnet18" ? torchvision.models.resnet18() : torchvision.models.resnet50();
        var expected = theirs.state_dict();
        var actual = ours.Network.state_dict();
        Assert.That(actual.Keys, Is.EquivalentTo(expected.Keys));
        foreach (var (key, value) in expected)
            Assert.That(actual[key].shape, Is.EqualTo(value.shape), key);
    }

    [Test]
    public void Resnet18GivesTheSameLogitsAsTorchSharpsTorchvisionWithTheSameWeights()
    {
        using var _ = NewDisposeScope();
        manual_seed(12);
        using var theirs = torchvision.models.resnet18();
        using (no_grad())
            foreach (var (name, buffer) in theirs.named_buffers())
                if (name.EndsWith("running_mean")) buffer.uniform_(-0.1, 0.1);
        theirs.eval();
        using var ours = TorchvisionResNet.Create("resnet18");
        ((TorchvisionResNetNetwork)ours.Network).LoadStrict(theirs.state_dict(), "TorchSharp's resnet18");
        var x = randn(2, 3, 64, 64);
        using var __ = no_grad();
        Assert.That(PyTorchFixtures.RelativeError(ours.Network.forward(x), theirs.forward(x)), Is.LessThan(1e-5));
    }
}
