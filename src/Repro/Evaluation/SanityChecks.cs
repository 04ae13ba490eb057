using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Evaluation;

/// <summary>
/// The warning signs that a robustness number may be an artefact of the model or of the attack
/// rather than robustness (AutoAttack's checks, Croce and Hein 2020, flags_doc.md, plus the field's
/// usual ones, Carlini et al. 2019 "On evaluating adversarial robustness"): outputs that look like
/// probabilities; examples with an exactly zero input gradient; outputs that change between
/// identical calls; the gradient-free attack fooling what the gradient attacks could not; accuracy
/// that does not fall as eps grows; an unbounded attack that does not reach 100% success. Each is
/// measured, reported beside the robustness numbers, and never changes them.
/// </summary>
public static class SanityChecks
{
    /// <summary>AutoAttack's tolerance: the gradient-free attack may lower robust accuracy by at most 0.2 points before it counts.</summary>
    public const double GradientFreeTolerance = 0.002;

    /// <summary>Outputs in [0,1] whose rows sum to 1 (within 1e-4): the model returns probabilities, whose saturated gradients make gradient attacks look weak.</summary>
    public static SanityFlag Probabilities(nn.Module<Tensor, Tensor> model, Tensor images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var output = model.forward(images);
        return ProbabilitiesFlag(output.min().item<float>(), output.max().item<float>(), (output.sum(1) - 1).abs().max().item<float>());
    }

    /// <summary>The probabilities flag from the smallest and largest output and the largest |row sum − 1| over the examples probed.</summary>
    public static SanityFlag ProbabilitiesFlag(double min, double max, double sumError)
    {
        bool fired = min >= -1e-4 && max <= 1 + 1e-4 && sumError <= 1e-4;
        return new SanityFlag("probabilities", fired, fired
            ? $"the outputs look like probabilities (in [{min:G3}, {max:G3}], rows sum to 1 within {sumError:G2}): attack the logits — saturated softmax gradients make gradient attacks look weak"
            : $"outputs in [{min:G3}, {max:G3}], row sums differ from 1 by up to {sumError:G3}: logits, not probabilities");
    }

    /// <summary>
    /// Examples whose input gradient of the logit margin (max_{j≠y} z_j − z_y) is exactly zero: a
    /// gradient attack cannot move them (a dead ReLU block, a hard threshold, a quantiser).
    /// </summary>
    public static SanityFlag ZeroGradients(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels) =>
        ZeroGradientsFlag(ZeroGradientPerExample(model, images, labels).Count(z => z), images.shape[0]);

    /// <summary>Per example: whether the input gradient of its logit margin is exactly zero (each example's gradient is its own: the loss is a sum over examples).</summary>
    public static bool[] ZeroGradientPerExample(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels)
    {
        using var frozen = new FrozenParameters([model]);
        using var scope = NewDisposeScope();
        var input = images.detach().requires_grad_(true);
        var value = new MarginObjective(model, labels).Evaluate(input);
        var gradient = InputGradient.Of(value.PerExampleLoss.sum(), input);
        return gradient.flatten(1).abs().amax(1).eq(0).cpu().data<bool>().ToArray();
    }

    /// <summary>The zero-gradients flag from the number of examples with an exactly zero gradient among <paramref name="examples"/> probed.</summary>
    public static SanityFlag ZeroGradientsFlag(long zero, long examples) =>
        new("zero-gradients", zero > 0, zero > 0
            ? $"{zero} of {examples} examples have an exactly zero input gradient: gradient attacks cannot move them, so their robustness is not measured"
            : $"every one of {examples} examples has a non-zero input gradient");

    /// <summary>The same batch through the model <paramref name="calls"/> times: any change (AutoAttack: L2 distance of normalised outputs above 1e-4, or another prediction) means a randomised model, which needs EOT attacks.</summary>
    public static SanityFlag Randomness(nn.Module<Tensor, Tensor> model, Tensor images, int calls = 3)
    {
        var (change, predictionChanged) = RandomnessPerExample(model, images, calls);
        return RandomnessFlag(change.DefaultIfEmpty(0).Max(), predictionChanged.Any(c => c), calls);
    }

    /// <summary>Per example: the largest L2 change of its normalised outputs over <paramref name="calls"/> identical calls, and whether its prediction changed.</summary>
    public static (float[] Change, bool[] PredictionChanged) RandomnessPerExample(nn.Module<Tensor, Tensor> model, Tensor images, int calls = 3)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Tensor Normalised(Tensor o) => o / (o.flatten(1).norm(1, keepdim: true, p: 2) + 1e-10);
        var first = model.forward(images);
        var worst = zeros(images.shape[0], device: first.device);
        var changed = zeros(images.shape[0], dtype: ScalarType.Bool, device: first.device);
        for (int i = 1; i < calls; i++)
        {
            var again = model.forward(images);
            worst = maximum(worst, (Normalised(again) - Normalised(first)).flatten(1).norm(1, p: 2));
            changed = changed.logical_or(again.argmax(1).ne(first.argmax(1)));
        }
        return (worst.cpu().data<float>().ToArray(), changed.cpu().data<bool>().ToArray());
    }

    /// <summary>The randomness flag from the largest change of the normalised outputs and whether any prediction changed over <paramref name="calls"/> identical calls.</summary>
    public static SanityFlag RandomnessFlag(double worst, bool predictionsChanged, int calls = 3)
    {
        bool fired = worst > 1e-4 || predictionsChanged;
        return new SanityFlag("randomness", fired, fired
            ? $"the outputs changed between {calls} identical calls (largest change of the normalised outputs {worst:G3}{(predictionsChanged ? ", predictions changed" : "")}): a randomised model (dropout left on?) needs attacks that average over the randomness (EOT)"
            : $"{calls} identical calls gave the same outputs (largest change {worst:G2})");
    }

    /// <summary>Per eps: the gradient-free attacks, run after the gradient ones, fooled more than <see cref="GradientFreeTolerance"/> of the examples that every gradient attack left correct.</summary>
    public static SanityFlag GradientFreeWins(IReadOnlyList<AttackStage> stages, IReadOnlyList<bool> gradientFree, long examples)
    {
        long extra = stages.Where((s, i) => gradientFree[i]).Sum(s => s.NewlyFooled);
        bool any = gradientFree.Any(g => g) && gradientFree.Any(g => !g);
        double drop = examples == 0 ? 0 : (double)extra / examples;
        bool fired = any && drop > GradientFreeTolerance;
        return new SanityFlag("gradient-free-wins", fired,
            !any ? "not checked (needs a gradient and a gradient-free attack)"
            : fired ? $"the gradient-free attack fooled {extra} examples ({Percent.Of(drop)}) that the gradient attacks left correct: the gradients may be masked — this number is an upper bound, try adaptive attacks"
            : $"the gradient-free attack fooled {extra} examples the gradient attacks missed (tolerance {Percent.Of(GradientFreeTolerance)})");
    }

    /// <summary>Across eps: robust accuracy must not rise as eps grows, and must fall somewhere between the smallest and the largest eps (unless it is already 0).</summary>
    public static SanityFlag AccuracyFallsWithEps(IReadOnlyList<(double Eps, long Robust)> perEps, long examples)
    {
        var sorted = perEps.OrderBy(p => p.Eps).ToList();
        if (sorted.Count < 2) return new SanityFlag("eps-monotone", false, "not checked (needs two eps or more)");
        var rises = sorted.Zip(sorted.Skip(1)).Where(p => p.Second.Robust > p.First.Robust).ToList();
        bool flat = sorted[0].Robust == sorted[^1].Robust && sorted[0].Robust > 0;
        bool fired = rises.Count > 0 || flat;
        string Format((double Eps, long Robust) p) => $"{Percent.Of((double)p.Robust / examples)} at eps {p.Eps:G4}";
        return new SanityFlag("eps-monotone", fired,
            rises.Count > 0 ? $"robust accuracy rose with eps ({string.Join("; ", rises.Select(r => $"{Format(r.First)} -> {Format(r.Second)}"))}): the attack is not finding the worst case"
            : flat ? $"robust accuracy did not fall from eps {sorted[0].Eps:G4} to eps {sorted[^1].Eps:G4} ({Format(sorted[0])}): the attack may not be working"
            : $"robust accuracy falls with eps ({string.Join(", ", sorted.Select(Format))})");
    }

    /// <summary>
    /// An unbounded attack must fool every example: PGD on the logit margin (which never saturates)
    /// from the image, in a ball that holds the whole [0,1] box (L2: radius √d; L-inf: 1), with
    /// <paramref name="steps"/> steps of a tenth of that radius, on up to <paramref name="limit"/>
    /// correctly classified examples. No random start: a random point of so large a ball is a
    /// random image, whose misclassification would prove nothing about the gradients.
    /// </summary>
    public static SanityFlag Unbounded(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Norm norm, long seed, int limit = 100, int steps = UnboundedSteps)
    {
        long n = Math.Min(limit, images.shape[0]);
        var fooled = UnboundedFooledPerExample(model, images.narrow(0, 0, n), labels.narrow(0, 0, n), norm, seed, steps);
        return UnboundedFlag(fooled.Count(f => f), n, norm, steps);
    }

    /// <summary>The unbounded attack's steps.</summary>
    public const int UnboundedSteps = 50;

    /// <summary>Per example: whether the unbounded attack (see <see cref="Unbounded"/>) fooled it; each example's attack is its own.</summary>
    public static bool[] UnboundedFooledPerExample(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Norm norm, long seed, int steps = UnboundedSteps)
    {
        using var scope = NewDisposeScope();
        double d = images[0].numel();
        ThreatModel threat = norm.Ball(norm == Norm.L2 ? Math.Sqrt(d) : 1.0);
        using var result = Pgd.Run(new MarginObjective(model, labels), images, threat, new AttackRun(seed),
            new PgdOptions { Steps = steps, StepSize = threat.Eps / 10, StopOnSuccess = true });
        return result.Success.cpu().data<bool>().ToArray();
    }

    /// <summary>The unbounded flag from the number fooled among <paramref name="examples"/> tried.</summary>
    public static SanityFlag UnboundedFlag(long fooled, long examples, Norm norm, int steps = UnboundedSteps)
    {
        string ball = norm == Norm.L2 ? "L2 ball of radius √d" : "L-inf ball of radius 1";
        bool fired = fooled < examples;
        return new SanityFlag("unbounded", fired, fired
            ? $"an unbounded attack ({ball}, the whole image box, {steps} steps) fooled only {fooled} of {examples} examples: with the whole image box allowed every example must fall — the gradients are not usable (masked, zero or random)"
            : $"an unbounded attack ({ball}, the whole image box, {steps} steps) fooled all {examples} examples tried");
    }
}
