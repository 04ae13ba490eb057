using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// A classifier whose every example is computed by elementwise operations and a sum over its own
/// row only (logit k = Σ_j v_kj·tanh(a_j·x_j + b_j)), so an example's outputs and input gradients
/// are bitwise the same whatever else is in the batch: the model for "alone vs in a batch"
/// bitwise tests (a convolution or a matrix product may round differently for other batch sizes).
/// </summary>
public sealed class RowwiseNet : Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Parameter scale, shift;
    readonly TorchSharp.Modules.Parameter[] heads;

    public RowwiseNet(int classes = 3, long features = 3 * 32 * 32, long seed = 1) : base("RowwiseNet")
    {
        using var g = new Generator((ulong)seed);
        scale = Parameter(randn(new[] { 1, features }, generator: g) * 4);
        shift = Parameter(randn(new[] { 1, features }, generator: g));
        heads = Enumerable.Range(0, classes).Select(_ => Parameter(randn(new[] { 1, features }, generator: g) * 0.05f)).ToArray();
        for (int k = 0; k < heads.Length; k++) register_parameter($"head{k}", heads[k]);
        register_parameter("scale", scale);
        register_parameter("shift", shift);
        eval();
    }

    public override Tensor forward(Tensor images)
    {
        var h = tanh(images.flatten(1) * scale + shift);
        return stack(heads.Select(v => (h * v).sum(1)).ToArray(), 1);
    }
}

/// <summary>
/// Three classes on a one-pixel image x ∈ [0,1] (shape [N,1]), built so that loss and success
/// disagree: z0 = 0 (the label), z1 = 0.02 − 0.2·|x − 0.4| (a tent: class 1 wins only near
/// x = 0.4), z2 = −1 + 4.9·(x − 0.4). Cross-entropy on label 0 rises monotonically on [0.2, 0.6]:
/// 0.75 at x = 0.2 (correct), 0.87 at x = 0.4 (misclassified: class 1), 1.09 at x = 0.6 (correct
/// again: z1 = z2 = −0.02 &lt; z0). From 0.2 with steps of 0.2 in an L2 ball of 0.4, PGD visits
/// exactly those three points: the highest loss is not a success.
/// </summary>
public sealed class LossAndSuccessDisagree : Module<Tensor, Tensor>
{
    public LossAndSuccessDisagree() : base("LossAndSuccessDisagree") { }

    public override Tensor forward(Tensor x)
    {
        var t = x[.., 0];
        var z1 = 0.02 - 0.2 * (functional.relu(t - 0.4) + functional.relu(0.4 - t));
        var z2 = -1 + 4.9 * (t - 0.4);
        return stack([zeros_like(t), z1, z2], 1);
    }
}
