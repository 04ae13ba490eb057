using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>A batch of images [N,3,H,W] in [0,1] with int64 labels [N] and the names of the labels.</summary>
public sealed class LabelledImages(Tensor images, Tensor labels, IReadOnlyList<string> classNames) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public IReadOnlyList<string> ClassNames { get; } = classNames;
    public long Count => Images.shape[0];

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
