using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>
/// Puts a model's input normalisation inside the model: callers (attacks, explanations, the CLI)
/// only ever see images in [0,1]; this module computes (x - mean) / std per channel before the
/// wrapped network. Mean and std are buffers, so they follow the module to its device.
/// </summary>
public sealed class Normalized : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> inner;
    readonly Tensor mean, std;

    public Normalized(Module<Tensor, Tensor> inner, float[] mean, float[] std, string name = "Normalized") : base(name)
    {
        if (mean.Length != std.Length) throw new ArgumentException("mean and std need one value per channel");
        if (std.Any(s => s <= 0)) throw new ArgumentException("std must be positive", nameof(std));
        this.inner = inner;
        this.mean = tensor(mean).reshape(1, mean.Length, 1, 1);
        this.std = tensor(std).reshape(1, std.Length, 1, 1);
        register_buffer("mean", this.mean, persistent: false);
        register_buffer("std", this.std, persistent: false);
        RegisterComponents();
    }

    public Module<Tensor, Tensor> Inner => inner;

    /// <summary>The standard ImageNet statistics used by torchvision's pretrained models.</summary>
    public static Normalized ImageNet(Module<Tensor, Tensor> inner) =>
        new(inner, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    public Tensor Normalize(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != mean.shape[1])
            throw new ArgumentException($"expected images [N,{mean.shape[1]},H,W], got [{string.Join(",", images.shape)}]");
        return (images - mean) / std;
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return inner.forward(Normalize(images)).MoveToOuterDisposeScope();
    }
}
