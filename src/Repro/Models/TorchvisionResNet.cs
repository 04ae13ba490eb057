using Repro.Models.Formats.PyTorch;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>
/// A torchvision ResNet (<see cref="TorchvisionResNetNetwork"/>) with the official ImageNet
/// weights, its ImageNet normalisation inside (it takes [0,1] images [N,3,H,W] and returns logits
/// [N,classes]), and its representation (the 512/2048-d input of <c>fc</c>) exposed. Weights load
/// from the publisher's <c>.pth</c> as published (read by <see cref="PyTorchCheckpoint"/>, either
/// PyTorch serialisation, no Python needed) or from the same tensors as safetensors, strictly:
/// every parameter and buffer, nothing else, each with its shape.
/// </summary>
public sealed class TorchvisionResNet : nn.Module<Tensor, Tensor>, IRepresentationModel
{
    readonly Normalized network;
    readonly TorchvisionResNetNetwork resnet;

    TorchvisionResNet(string name, ResNetShape shape) : base(name)
    {
        resnet = new TorchvisionResNetNetwork(shape, name);
        network = Normalized.ImageNet(resnet);
        RegisterComponents();
        eval();
    }

    /// <summary>resnet18 or resnet50 with random weights.</summary>
    public static TorchvisionResNet Create(string architecture) => new(architecture, ShapeOf(architecture));

    /// <summary>Any torchvision-layout ResNet (e.g. a narrower one) with random weights.</summary>
    public static TorchvisionResNet Create(ResNetShape shape, string name = "resnet") => new(name, shape);

    /// <summary>The torchvision shape of "resnet18" or "resnet50" (He et al. 2016; 1000 classes).</summary>
    /// <exception cref="ReproInputException">Any other architecture name.</exception>
    public static ResNetShape ShapeOf(string architecture) => architecture switch
    {
        "resnet18" => ResNetShape.ResNet18,
        "resnet50" => ResNetShape.ResNet50,
        _ => throw new ReproInputException($"unknown torchvision architecture '{architecture}' (resnet18, resnet50)"),
    };

    /// <summary>Loads a state_dict file (.pth/.pt in either PyTorch serialisation, or .safetensors) into <paramref name="architecture"/>, requiring every key.</summary>
    public static TorchvisionResNet Load(string architecture, string weightsPath) => Load(Create(architecture), weightsPath);

    /// <summary>Loads a state_dict file into a ResNet of <paramref name="shape"/>, requiring every key.</summary>
    public static TorchvisionResNet Load(ResNetShape shape, string weightsPath) => Load(Create(shape), weightsPath);

    static TorchvisionResNet Load(TorchvisionResNet model, string weightsPath)
    {
        if (!File.Exists(weightsPath)) throw new ReproInputException($"weights file not found: {weightsPath}");
        try
        {
            using var _ = NewDisposeScope();
            using var weights = StateDictFile.Read(weightsPath);
            model.resnet.LoadStrict(weights.StateDict, weightsPath);
        }
        catch (Exception e) when (e is not ReproInputException and not ReproEnvironmentException)
        {
            model.Dispose();
            throw new ReproInputException($"cannot load {model.resnet.Shape} weights from {weightsPath}: {e.Message}", e);
        }
        model.eval();
        return model;
    }

    /// <summary>The network holding the torchvision parameter names (conv1.weight, layer1.0.bn1.running_mean, fc.bias, ...); takes normalised images.</summary>
    public nn.Module<Tensor, Tensor> Network => resnet;

    /// <summary>Logits [N,classes] of images [N,3,H,W] in [0,1] (ImageNet-normalised inside).</summary>
    public override Tensor forward(Tensor images) => network.call(images);

    /// <summary>[0,1] images [N,3,H,W] to the representation [N,512] (resnet18) or [N,2048] (resnet50): the input of <c>fc</c>.</summary>
    public Tensor Representation(Tensor images)
    {
        using var scope = NewDisposeScope();
        return resnet.Features(network.Normalize(images)).MoveToOuterDisposeScope();
    }
}
