using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// A small seeded classifier for 224x224 images (any size, in fact): 8x8 average pooling of each
/// colour, then Linear(192, classes). No convolutions (fast, and clear of the libtorch CPU
/// convolution fault), smooth, differentiable: enough for the folder attack's bookkeeping tests.
/// </summary>
public sealed class PooledLinearClassifier : Module<Tensor, Tensor>
{
    public const int Features = 3 * 8 * 8;
    readonly TorchSharp.Modules.AdaptiveAvgPool2d pool;
    internal readonly TorchSharp.Modules.Linear Head; // a field, so that RegisterComponents names it "Head"

    public PooledLinearClassifier(int classes = 10, long seed = 1) : base("PooledLinearClassifier")
    {
        manual_seed(seed);
        pool = AdaptiveAvgPool2d(8);
        Head = Linear(Features, classes);
        using (no_grad()) Head.weight!.mul_(20);
        RegisterComponents();
        eval();
    }

    public Tensor Features8x8(Tensor images) => pool.forward(images).flatten(1);
    public override Tensor forward(Tensor images) => Head.forward(Features8x8(images));

    public static IReadOnlyList<string> Names(int classes = 10) => Enumerable.Range(0, classes).Select(i => $"class{i}").ToList();

    /// <summary>
    /// Makes class 1 a near tie with class 0 on <paramref name="image"/> ([3,H,W]): class 0 wins by
    /// 1e-3 in logits, and any change of the pooled features moves the difference by weights of
    /// order 1, so a float perturbation far below 1/255 flips it; every other class is far behind.
    /// </summary>
    public void MakeNearTie(Tensor image)
    {
        using var _ = no_grad();
        var f = Features8x8(image.unsqueeze(0))[0];
        var w = Head.weight!;
        var b = Head.bias!;
        w[1].copy_(w[0] + randn(Features) * 20);
        b[1].copy_(b[0] + (w[0] - w[1]).dot(f) - 1e-3);
        for (int c = 2; c < w.shape[0]; c++) b[c].fill_(-1e4);
    }
}
