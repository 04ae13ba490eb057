using Repro.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// A small seeded conv net on [N,3,32,32] images with a representation, for fast engine tests.
/// Smooth (tanh, not ReLU) so that float rounding differences between batched and single-example
/// kernels cannot flip an activation and send two mathematically equal attacks down different paths.
/// Not smaller: measured here, libtorch 2.10's CPU input gradient of a Conv2d(3,6,3) on [4,3,8,8]
/// was wrong by 40-75% against a float64 reference, while every size from 32x32 up was right to
/// 1e-6 (see <c>ConvolutionGradientTests</c>, which guards the sizes the claims use).
/// </summary>
public sealed class TinyNet : Module<Tensor, Tensor>, IRepresentationModel
{
    public const int Side = 32;
    readonly TorchSharp.Modules.Conv2d conv;
    readonly TorchSharp.Modules.Linear head;

    public TinyNet(int classes = 3, long seed = 1) : base("TinyNet")
    {
        manual_seed(seed);
        conv = Conv2d(3, 16, 3, padding: 1);
        head = Linear(16 * Side * Side, classes);
        RegisterComponents();
        eval();
    }

    public Tensor Representation(Tensor images) => tanh(conv.forward(images)).flatten(1);
    public override Tensor forward(Tensor images) => head.forward(Representation(images));
}
