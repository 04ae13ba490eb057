using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// Every attack and explanation rests on libtorch's input gradients. This checks them, at the
/// shapes the claims use, against the same network computed in float64, with the default thread
/// count. Measured here: all of these agree to ~1e-6. (Before the oneDNN repair of issue 12 a tiny
/// Conv2d(3,6,3) on [4,3,8,8] was wrong by 40-75%; the known-fault probes now live in
/// tests/Unit/Runtime/KnownFaultTests.)
/// </summary>
public class ConvolutionGradientTests
{
    static readonly object[] Shapes =
    [
        new object[] { 128, 3, 32, 32 },  // CIFAR minibatch, stem
        new object[] { 128, 32, 32, 32 }, // CIFAR minibatch, body
        new object[] { 16, 3, 224, 32 },  // ImageNet claim batch, stem
        new object[] { 4, 64, 56, 64 },   // ImageNet body
        new object[] { 128, 3, 32, 16 },  // SmallResNet stem
        new object[] { 128, 16, 32, 16 }, // SmallResNet stage 1
        new object[] { 128, 32, 16, 32 }, // SmallResNet stage 2
        new object[] { 128, 64, 8, 64 },  // SmallResNet stage 3
    ];

    [TestCaseSource(nameof(Shapes))]
    public void InputGradientsMatchAFloat64Reference(int batch, int channels, int side, int outChannels)
    {
        using var _ = NewDisposeScope();
        manual_seed(1);
        var conv = nn.Conv2d(channels, outChannels, 3, padding: 1);
        var x = rand(batch, channels, side, side);
        var weights = randn(batch, outChannels, side, side);
        var conv64 = nn.Conv2d(channels, outChannels, 3, padding: 1);
        conv64.to(ScalarType.Float64);
        using (no_grad())
        {
            conv64.weight!.copy_(conv.weight!);
            conv64.bias!.copy_(conv.bias!);
        }

        Tensor Gradient(nn.Module<Tensor, Tensor> m, Tensor input, Tensor w)
        {
            using var frozen = new FrozenParameters([m]);
            var i = input.detach().clone().requires_grad_(true);
            return InputGradient.Of((tanh(m.forward(i)) * w).sum(), i);
        }

        var g = Gradient(conv, x, weights);
        var reference = Gradient(conv64, x.to_type(ScalarType.Float64), weights.to_type(ScalarType.Float64)).to_type(ScalarType.Float32);
        double relative = (g - reference).abs().max().item<float>() / reference.abs().max().item<float>();
        TestContext.Out.WriteLine($"[{batch},{channels},{side},{side}] -> {outChannels}: relative error {relative:E2} with {get_num_threads()} threads");
        Assert.That(relative, Is.LessThan(1e-4));
    }
}
