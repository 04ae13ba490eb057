using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;
namespace Repro.Tests.Unit;
public class ScratchTests
{
    [Test]
    public void Scratch([Values(1, 4, 32)] int n, [Values(8, 32)] int size, [Values(3, 16)] int cin)
    {
        using var _ = NewDisposeScope();
        manual_seed(1);
        var conv = nn.Conv2d(cin, 6, 3, padding: 1);
        foreach (var p in conv.parameters()) p.requires_grad = false;
        var x = rand(n, cin, size, size).requires_grad_(true);
        var y = conv.forward(x);
        var g = InputGradient.Of(y.sum(), x);
        var x2 = x.detach().clone().requires_grad_(true);
        var y2 = conv.forward(x2);
        var g2 = autograd.grad([y2], [x2], [ones_like(y2)])[0].clone();
        var expected = nn.functional.conv_transpose2d(ones_like(y), conv.weight!.detach(), padding: new long[] { 1, 1 });
        TestContext.Out.WriteLine($"n {n} size {size} cin {cin}: sum-seed err {(g - expected).abs().max().item<float>()} ones-seed err {(g2 - expected).abs().max().item<float>()} scale {expected.abs().max().item<float>()}");
    }
}
