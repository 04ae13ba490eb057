using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>
/// Puts a model's input normalisation inside the model: callers (attacks, explanations, the CLI)
/// only ever see images in [0,1]; this module computes (x - mean) / std per channel before the
/// wrapped network. Mean and std follow the images' device and dtype (a copy per device and dtype,
/// made once). They are not module buffers: TorchSharp's to() did not move this module's
/// non-persistent buffers (measured: after to(float16) the registered mean was still float32, and on
/// a GPU a model moved to CUDA subtracted a CPU mean), and persistent ones would add keys to the
/// official state_dicts the loaders check strictly.
/// </summary>
public sealed class Normalized : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> inner;
    readonly Tensor mean, std;
    Tensor? meanThere, stdThere;

    /// <summary>Wraps <paramref name="inner"/> with the normalisation (x - mean) / std.</summary>
    /// <param name="inner">The network taking normalised images.</param>
    /// <param name="mean">Mean per channel, in [0,1] pixel units.</param>
    /// <param name="std">Standard deviation per channel, &gt; 0.</param>
    /// <param name="name">The module's name.</param>
    /// <exception cref="ArgumentException"><paramref name="mean"/> and <paramref name="std"/> differ in length, or a std is not positive.</exception>
    public Normalized(Module<Tensor, Tensor> inner, float[] mean, float[] std, string name = "Normalized") : base(name)
    {
        if (mean.Length != std.Length) throw new ArgumentException("mean and std need one value per channel");
        if (std.Any(s => s <= 0)) throw new ArgumentException("std must be positive", nameof(std));
        this.inner = inner;
        this.mean = tensor(mean).reshape(1, mean.Length, 1, 1).DetachFromDisposeScope();
        this.std = tensor(std).reshape(1, std.Length, 1, 1).DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>The wrapped network, which takes normalised images.</summary>
    public Module<Tensor, Tensor> Inner => inner;

    /// <summary>The standard ImageNet statistics used by torchvision's pretrained models.</summary>
    public static Normalized ImageNet(Module<Tensor, Tensor> inner) =>
        new(inner, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>(images - mean) / std per channel, on the images' device and dtype.</summary>
    /// <exception cref="ArgumentException">The images are not [N,C,H,W] with one channel per mean value.</exception>
    public Tensor Normalize(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != mean.shape[1])
            throw new ArgumentException($"expected images [N,{mean.shape[1]},H,W], got [{string.Join(",", images.shape)}]");
        var (m, s) = ConstantsLike(images);
        return (images - m) / s;
    }

    /// <summary>The wrapped network applied to <see cref="Normalize"/>d images [N,C,H,W] in [0,1].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return inner.call(Normalize(images)).MoveToOuterDisposeScope();
    }

    (Tensor Mean, Tensor Std) ConstantsLike(Tensor images)
    {
        if (meanThere is null || stdThere is null || meanThere.dtype != images.dtype
            || meanThere.device_type != images.device_type || meanThere.device_index != images.device_index)
        {
            meanThere?.Dispose();
            stdThere?.Dispose();
            meanThere = mean.to(images.dtype, images.device).DetachFromDisposeScope();
            stdThere = std.to(images.dtype, images.device).DetachFromDisposeScope();
        }
        return (meanThere, stdThere);
    }
}
