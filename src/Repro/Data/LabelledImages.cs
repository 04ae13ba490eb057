using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>A batch of images [N,3,H,W] in [0,1] with int64 labels [N] and the names of the labels.</summary>
public sealed class LabelledImages(Tensor images, Tensor labels, IReadOnlyList<string> classNames) : IDisposable
{
    /// <summary>The images, float32 [N,3,H,W] in [0,1].</summary>
    public Tensor Images { get; } = images;
    /// <summary>The labels, int64 [N]: positions in <see cref="ClassNames"/>.</summary>
    public Tensor Labels { get; } = labels;
    /// <summary>The name of each label index.</summary>
    public IReadOnlyList<string> ClassNames { get; } = classNames;
    /// <summary>The number of images N.</summary>
    public long Count => Images.shape[0];

    /// <summary>Disposes <see cref="Images"/> and <see cref="Labels"/>.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
