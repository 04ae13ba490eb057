using Repro.Models;
using Repro.Models.Formats.PyTorch;
using Repro.Tests.Unit.Models.Formats.PyTorch;
using Repro.Tests.Unit.Support;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models;

public class MadryResNet50Tests
{
    /// <summary>A robustness-library checkpoint as re-exported: module.model.*, module.attacker.model.*, module.normalizer.*.</summary>
    static Dictionary<string, Tensor> GeneratedCheckpoint(nn.Module<Tensor, Tensor> source, float[] mean, float[] std)
    {
        var checkpoint = new Dictionary<string, Tensor>();
        foreach (var (key, value) in source.state_dict())
        {
            checkpoint["module.model." + key] = value;
            checkpoint["module.attacker.model." + key] = value;
        }
        checkpoint["module.normalizer.new_mean"] = tensor(mean).reshape(3, 1, 1);
        checkpoint["module.normalizer.new_std"] = tensor(std).reshape(3, 1, 1);
        checkpoint["module.attacker.normalizer.new_mean"] = tensor(mean).reshape(3, 1, 1);
        checkpoint["module.attacker.normalizer.new_std"] = tensor(std).reshape(3, 1, 1);
        return checkpoint;
    }

    [Test]
    public void MapsModuleModelKeysToTorchVisionAndDropsTheAttackersCopy()
    {
        using var _ = NewDisposeScope();
        manual_seed(5);
        var source = torchvision.models.resnet50(num_classes: MadryResNet50.Classes);
        var (weights, mean, std) = MadryResNet50.MapKeys(GeneratedCheckpoint(source, MadryResNet50.Mean, MadryResNet50.Std));
        var expected = source.state_dict();
        Assert.Multiple(() =>
        {
            Assert.That(weights.Keys, Is.EquivalentTo(expected.Keys));
            Assert.That(weights.Keys, Has.Member("layer4.2.bn3.running_var").And.Member("fc.weight").And.Member("conv1.weight"));
            Assert.That(mean, Is.EqualTo(MadryResNet50.Mean).Within(1e-6));
            Assert.That(std, Is.EqualTo(MadryResNet50.Std).Within(1e-6));
        });
    }

    [Test]
    public void RejectsKeysThatAreNotARobustnessCheckpoint()
    {
        using var _ = NewDisposeScope();
        Assert.That(() => MadryResNet50.MapKeys(new Dictionary<string, Tensor> { ["module.model.fc.weight"] = zeros(9, 2048), ["optimizer.state"] = zeros(1) }),
            Throws.TypeOf<ReproInputException>().With.Message.Contains("optimizer.state"));
    }

    [Test]
    public void LoadsAGeneratedPthWithItsNormaliserAndRepresentation()
    {
        using var _ = NewDisposeScope();
        manual_seed(6);
        var source = torchvision.models.resnet50(num_classes: MadryResNet50.Classes);
        source.eval();
        string path = Path.Combine(TestData.TempFolder(), "madry.pth");
        using (var stream = File.Create(path))
            PyTorchPickler.PickleStateDict(stream, GeneratedCheckpoint(source, MadryResNet50.Mean, MadryResNet50.Std));

        using var model = MadryResNet50.Load(path);
        var images = rand(2, 3, 64, 64);
        var normalised = (images - tensor(MadryResNet50.Mean).reshape(1, 3, 1, 1)) / tensor(MadryResNet50.Std).reshape(1, 3, 1, 1);
        using var __ = no_grad();
        var expected = source.forward(normalised);
        var logits = model.forward(images);
        var representation = model.Representation(images);
        Assert.Multiple(() =>
        {
            Assert.That(logits.allclose(expected, rtol: 1e-4, atol: 1e-4), Is.True, "same logits as the source network on normalised images");
            Assert.That(representation.shape, Is.EqualTo(new long[] { 2, 2048 }));
            Assert.That(logits.shape, Is.EqualTo(new long[] { 2, MadryResNet50.Classes }));
        });
    }

    /// <summary>
    /// A robustness checkpoint as published (dill, DataParallel(AttackerModel), optimizer, schedule,
    /// epoch) around a narrow Bottleneck ResNet, written by PyTorch 1.13 in both serialisations: the
    /// loaded model gives PyTorch's logits on PyTorch's images.
    /// </summary>
    [TestCase("robust-resnet.pt")]
    [TestCase("robust-resnet-legacy.pt")]
    public void ARobustnessCheckpointAsPublishedGivesPyTorchsLogits(string file)
    {
        using var _ = NewDisposeScope();
        var json = PyTorchFixtures.Json("robust-resnet.json");
        var shape = PyTorchFixtures.Shape(json, ResNetBlock.Bottleneck);
        using var model = MadryResNet50.Load(PyTorchFixtures.PathOf(file), shape);
        var images = PyTorchFixtures.Floats(json.GetProperty("images"), json.GetProperty("images_shape"));
        var expected = PyTorchFixtures.Floats(json.GetProperty("logits"), json.GetProperty("logits_shape"));
        using var __ = no_grad();
        var logits = model.forward(images);
        double error = PyTorchFixtures.RelativeError(logits, expected);
        TestContext.Out.WriteLine($"{file}: max |logits - PyTorch's| / max |PyTorch's| = {error:E2}");
        Assert.That(logits.shape, Is.EqualTo(expected.shape));
        Assert.That(error, Is.LessThan(1e-4));
        Assert.That(model.Representation(images).shape, Is.EqualTo(new long[] { 2, shape.RepresentationSize }));
    }

    [Test]
    public void ANormaliserOtherThanRestrictedImageNetsIsRefused()
    {
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf("robust-resnet.pt"));
        var stateDict = checkpoint.StateDict().ToDictionary(e => e.Key, e => e.Value);
        stateDict["module.normalizer.new_mean"] = tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(3, 1, 1);   // ImageNet's
        string path = Path.Combine(TestData.TempFolder(), "imagenet-normaliser.pth");
        using (var stream = File.Create(path)) PyTorchPickler.PickleStateDict(stream, stateDict);
        var shape = PyTorchFixtures.Shape(PyTorchFixtures.Json("robust-resnet.json"), ResNetBlock.Bottleneck);
        var error = Assert.Throws<ReproInputException>(() => MadryResNet50.Load(path, shape));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("normaliser mean"));
    }

    [Test]
    public void TheTutorialBundlesFileNameIsLookedFor()
    {
        string root = TestData.TempFolder();
        var paths = new Repro.Data.ReproPaths(root, root);
        Assert.That(MadryResNet50.Find(paths), Is.Null);
        File.WriteAllBytes(Path.Combine(root, "RestrictedImageNet.pt"), []);
        Assert.That(MadryResNet50.Find(paths), Is.EqualTo(Path.Combine(root, "RestrictedImageNet.pt")));
        var error = Assert.Throws<ReproInputException>(() => MadryResNet50.Load(Path.Combine(root, "RestrictedImageNet.pt")));
        Assert.That(error!.Message, Does.Contain("RestrictedImageNet.pt").And.Contain("empty"));
    }
}
