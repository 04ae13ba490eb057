using Repro.Data;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>
/// A torchvision ResNet (TorchVision's architecture) with the official ImageNet weights, its
/// ImageNet normalisation inside, and its representation (the 512/2048-d input of <c>fc</c>)
/// exposed. Weights load from the publisher's PyTorch state_dict (.pth, via TorchSharp.PyBridge)
/// or from the same tensors as safetensors, strictly: every parameter and buffer must be present.
/// </summary>
public sealed class TorchvisionResNet : nn.Module<Tensor, Tensor>, IRepresentationModel
{
    readonly Normalized network;
    readonly nn.Module<Tensor, Tensor> resnet;
    readonly TorchSharp.Modules.Linear fc;

    TorchvisionResNet(string name, nn.Module<Tensor, Tensor> resnet) : base(name)
    {
        this.resnet = resnet;
        fc = (TorchSharp.Modules.Linear)resnet.named_children().First(c => c.name == "fc").module;
        network = Normalized.ImageNet(resnet);
        RegisterComponents();
        eval();
    }

    public static TorchvisionResNet Create(string architecture) => architecture switch
    {
        "resnet18" => new("resnet18", torchvision.models.resnet18()),
        "resnet50" => new("resnet50", torchvision.models.resnet50()),
        _ => throw new ReproInputException($"unknown torchvision architecture '{architecture}' (resnet18, resnet50)"),
    };

    /// <summary>Loads a state_dict file (.pth or .safetensors) into <paramref name="architecture"/>, requiring every key.</summary>
    public static TorchvisionResNet Load(string architecture, string weightsPath)
    {
        if (!File.Exists(weightsPath)) throw new ReproInputException($"weights file not found: {weightsPath}");
        var model = Create(architecture);
        try
        {
            if (weightsPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) model.resnet.load_safetensors(weightsPath, strict: true);
            else model.resnet.load_py(weightsPath, strict: true);
        }
        catch (Exception e) when (e is not ReproInputException)
        {
            throw new ReproInputException($"cannot load {architecture} weights from {weightsPath}: {e.Message}", e);
        }
        model.eval();
        return model;
    }

    /// <summary>The module holding the torchvision parameter names (conv1.weight, layer1.0.bn1.running_mean, fc.bias, ...).</summary>
    public nn.Module<Tensor, Tensor> Network => resnet;

    public override Tensor forward(Tensor images) => network.forward(images);

    public Tensor Representation(Tensor images)
    {
        Tensor? captured = null;
        // The representation is fc's input; a pre-hook reads it without re-implementing ResNet's
        // forward. ResNet's forward disposes its intermediates, so the hook keeps its own handle
        // (alias() is a differentiable view) outside every dispose scope; the caller owns it.
        var hook = fc.register_forward_pre_hook((_, input) => { captured = input.alias().DetachFromDisposeScope(); return input; });
        try
        {
            using (var scope = NewDisposeScope()) network.forward(images);
            return captured!;
        }
        finally
        {
            hook.remove();
        }
    }
}
