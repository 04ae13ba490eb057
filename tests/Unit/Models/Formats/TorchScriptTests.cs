using Repro.Attacks;
using Repro.Models.Formats.TorchScript;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>TorchScript files (torch.jit.trace and torch.jit.script, saved by PyTorch 1.13) run through TorchSharp with PyTorch's outputs and input gradients.</summary>
public class TorchScriptTests
{
    [TestCase("traced")]
    [TestCase("scripted")]
    public void OutputsAndInputGradientsMatchPyTorch(string name)
    {
        var fixture = Fixture.Load("torchscript", name, ".pt");
        using var network = TorchScriptNetwork.Load(fixture.ModelPath);
        using var scope = NewDisposeScope();
        using var frozen = new FrozenParameters([network]);
        var x = fixture.Input.clone().requires_grad_(true);

        var output = network.call(x);
        (output * fixture.Weights).sum().backward();

        double outputError = Compare.RelativeError(output, fixture.Output);
        double gradientError = Compare.RelativeError(x.grad!, fixture.Gradient);
        TestContext.Out.WriteLine($"{name}: {network.parameters().Count()} parameters, output error {outputError:E2}, input-gradient error {gradientError:E2}");
        Assert.That(outputError, Is.LessThan(1e-5));
        Assert.That(gradientError, Is.LessThan(1e-5));
        Assert.That(network.parameters().Count(), Is.GreaterThan(0), "the script's parameters are the network's (attacks freeze them)");
        Assert.That(network.parameters().All(p => !p.requires_grad), Is.True, "frozen through the wrapper");
    }

    [Test]
    public void ADamagedTorchScriptFileIsNamed()
    {
        string path = Path.Combine(Repro.Tests.Unit.Support.TestData.TempFolder(), "broken.pt");
        byte[] whole = File.ReadAllBytes(Path.Combine(Fixture.Folder("torchscript"), "traced.pt"));
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        var error = Assert.Throws<ReproInputException>(() => TorchScriptNetwork.Load(path).Dispose());
        Assert.That(error!.Message, Does.Contain(path));
    }
}
