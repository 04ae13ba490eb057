using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>
/// A classifier that exposes its representation: the input of its last linear layer, the vector
/// Engstrom et al. 2019 visualise. Images are in [0,1] (normalisation stays inside the model);
/// logits = Head(Representation(images)).
/// </summary>
public interface IRepresentationModel
{
    /// <summary>[N,...] images in [0,1] to the [N,D] representation.</summary>
    Tensor Representation(Tensor images);
}
