using Repro.Models;
using Repro.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>A trained model and the full-batch loss before each step (and after the last).</summary>
internal sealed record TrainedLinear(LinearClassifier Model, float[] Losses);

/// <summary>
/// The two recipes of the tutorial's linear model on raw pixels in [0,1]: standard training (the
/// article's full-batch SGD on cross-entropy) and adversarial training (full-batch Adam on the exact
/// worst-case loss). Both start from PyTorch's default initialisation drawn from the seed, train in
/// the margin form of <see cref="TwoClassLinear"/> (same trajectory, faster), and return the final
/// parameters, weights and biases alike. They run on the images' device: the model is drawn on the
/// CPU (so the same seed starts from the same parameters on every device) and moved there.
/// </summary>
internal static class LinearTraining
{
    /// <summary>A fresh Linear(pixels, classes) with PyTorch's default initialisation drawn from <paramref name="seed"/>.</summary>
    public static LinearClassifier NewModel(long pixels, int classes, long seed)
    {
        manual_seed(seed);
        return new LinearClassifier(pixels, classes);
    }

    /// <summary>
    /// The tutorial's recipe: full-batch SGD (no momentum) with <paramref name="learningRate"/> on the
    /// two weight rows. In the margin form that is SGD with twice the rate on v and c (each row moves
    /// by lr·g, in opposite directions, so their difference moves by 2·lr·g).
    /// </summary>
    public static TrainedLinear Standard(Tensor images, Tensor labels, int iterations, double learningRate, long seed) =>
        Train(images, labels, seed, form => optim.SGD(form.Parameters, 2 * learningRate), decay: false, iterations,
            (form, flat, sign) => form.CrossEntropy(flat, sign));

    /// <summary>
    /// Adversarial training: min over (v, c) of the mean over images of the max over each image's L2
    /// ball of the loss, with the inner max in closed form (<see cref="TwoClassLinear.WorstCaseCrossEntropy"/>):
    /// exact, and as cheap as a standard step. The outer problem is then convex (the margin minus
    /// eps·||v|| is concave in (v, c), and softplus of its negative is convex), so a steady optimiser
    /// converges to the robust optimum instead of chasing a moving 7-step PGD target.
    /// Adam, not SGD: raw pixels in [0,1] are far from centred, so the loss curves far more steeply along
    /// the mean image than across it (the pixels' second moment has λ_max ≈ 860 against a mean eigenvalue
    /// of 0.3; see <see cref="Curvature"/>). SGD at the tutorial's rate is 21 times past its stability
    /// limit along that direction: in a probe with this exact worst case (eps 1), SGD at lr 0.1 jumped
    /// from a loss of 1.14 to 9.6 and was still at 9.4 after 600 steps; below the limit it converges, but
    /// slowly along the flat directions. Adam's per-coordinate step does not depend on that scale. The
    /// rate decays linearly to 0 so that the final parameters settle instead of wobbling around the optimum.
    /// </summary>
    public static TrainedLinear Adversarial(Tensor images, Tensor labels, double eps, int iterations, double learningRate, long seed) =>
        Train(images, labels, seed, form => optim.Adam(form.Parameters, learningRate), decay: true, iterations,
            (form, flat, sign) => form.WorstCaseCrossEntropy(flat, sign, eps));

    static TrainedLinear Train(Tensor images, Tensor labels, long seed, Func<TwoClassLinear, optim.Optimizer> optimiser, bool decay, int iterations,
        Func<TwoClassLinear, Tensor, Tensor, Tensor> loss)
    {
        using var initial = DevicePlacement.To(NewModel(images[0].numel(), 2, seed), images.device);
        using var form = TwoClassLinear.From(initial);
        float[] losses;
        using (var scope = NewDisposeScope())
        {
            var flat = images.flatten(1);
            var sign = TwoClassLinear.LabelSign(labels);
            using var optimizer = optimiser(form);
            var schedule = decay ? optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, iterations) : null;
            losses = FullBatchTraining.Run(optimizer, iterations, () => loss(form, flat, sign), schedule);
        }
        return new TrainedLinear(DevicePlacement.To(form.ToClassifier(), images.device), losses);
    }

    /// <summary>Predicted classes of <paramref name="images"/>, evaluated in chunks without gradients.</summary>
    public static Tensor Predict(nn.Module<Tensor, Tensor> model, Tensor images, int chunk = 2000)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < images.shape[0]; start += chunk)
            parts.Add(model.forward(images.narrow(0, start, Math.Min(chunk, images.shape[0] - start))).argmax(1));
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Fraction of <paramref name="images"/> classified as <paramref name="labels"/>.</summary>
    public static double Accuracy(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return Predict(model, images).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
    }
}
