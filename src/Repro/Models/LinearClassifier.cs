using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>
/// The tutorial's linear model on raw pixels in [0,1] (no normalisation): flatten, then one
/// Linear(inputs, classes). Its representation is the flattened image itself.
/// </summary>
public sealed class LinearClassifier : Module<Tensor, Tensor>, IRepresentationModel
{
    readonly TorchSharp.Modules.Linear linear;

    /// <summary>A freshly initialised Linear(<paramref name="inputs"/>, <paramref name="classes"/>).</summary>
    /// <param name="inputs">Pixels per image (C·H·W).</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="name">The module's name.</param>
    public LinearClassifier(long inputs, long classes, string name = "LinearClassifier") : base(name)
    {
        linear = Linear(inputs, classes);
        RegisterComponents();
    }

    /// <summary>The Linear(inputs, classes) layer.</summary>
    public TorchSharp.Modules.Linear Layer => linear;

    /// <summary>The flattened images [N,inputs].</summary>
    public Tensor Representation(Tensor images) => images.flatten(1);

    /// <summary>Logits [N,classes] of images [N,...] (flattened to [N,inputs]).</summary>
    public override Tensor forward(Tensor images) => linear.forward(images.flatten(1));
}
