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

    public LinearClassifier(long inputs, long classes, string name = "LinearClassifier") : base(name)
    {
        linear = Linear(inputs, classes);
        RegisterComponents();
    }

    public TorchSharp.Modules.Linear Layer => linear;

    public Tensor Representation(Tensor images) => images.flatten(1);

    public override Tensor forward(Tensor images) => linear.forward(images.flatten(1));
}
