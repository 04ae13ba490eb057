using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Projected gradient descent (Madry et al. 2018) over any threat model and any objective.
/// Each step costs one forward and one backward pass with respect to the input only (the
/// objective's parameters are frozen); a final forward pass measures the returned images.
/// Inputs are images in [0,1]; the model's normalisation is inside the model. The device is the
/// inputs' device. Every example of a batch is attacked independently.
/// </summary>
public static class Pgd
{
    public static AttackResult Run(AttackObjective objective, ThreatModel threat, Tensor images, PgdOptions options)
    {
        options.Validate();
        using var frozen = new FrozenParameters(objective.Modules);
        using var scope = NewDisposeScope();
        var original = images.detach();
        var generator = new Generator((ulong)options.Seed);
        try
        {
            Tensor? best = null, bestLoss = null;
            for (int restart = 0; restart < options.Restarts; restart++)
            {
                var (candidate, loss) = RunOnce(objective, threat, original, options, generator, restart);
                if (best is null) { best = candidate; bestLoss = loss; continue; }
                var better = objective.Better(loss, bestLoss!);
                best = where(Expand(better, best), candidate, best);
                bestLoss = where(better, loss, bestLoss!);
            }
            return Measure(objective, original, best!, scope);
        }
        finally
        {
            generator.Dispose();
        }
    }

    /// <summary>One run from one start. Returns the chosen images and their per-example loss.</summary>
    static (Tensor Images, Tensor Loss) RunOnce(AttackObjective objective, ThreatModel threat, Tensor original, PgdOptions options, Generator generator, int restart)
    {
        Tensor x;
        using (no_grad()) x = options.RandomStart ? threat.RandomStart(original, generator) : original.clone();
        Tensor? best = null, bestLoss = null;
        double sign = objective.Direction == Direction.Ascend ? 1.0 : -1.0;

        for (int step = 0; step < options.Steps; step++)
        {
            Tensor previous = x, previousBest = best!, previousBestLoss = bestLoss!;
            using (var stepScope = NewDisposeScope())
            {
                var input = x.detach().requires_grad_(true);
                var value = objective.Evaluate(input);
                var gradient = InputGradient.Of(value.PerExampleLoss.sum(), input);
                using (no_grad())
                {
                    if (options.KeepBest) (best, bestLoss) = KeepBetter(objective, x, value.PerExampleLoss.detach(), best, bestLoss);
                    x = threat.StepAndProject(original, x, gradient, sign * options.StepSize);
                    stepScope.MoveToOuter(x);
                    if (options.KeepBest) stepScope.MoveToOuter(best!, bestLoss!);
                }
            }
            options.Progress?.Invoke((long)restart * options.Steps + step + 1, (long)options.Restarts * options.Steps);
            // The iterates of earlier steps are no longer needed: free them now, not when the attack ends.
            previous.Dispose();
            if (options.KeepBest && previousBest is not null && !ReferenceEquals(previousBest, best))
            {
                previousBest.Dispose();
                previousBestLoss.Dispose();
            }
        }

        if (!options.KeepBest) return (x, FinalLoss(objective, x));
        var finalLoss = FinalLoss(objective, x);
        return KeepBetter(objective, x, finalLoss, best, bestLoss);
    }

    static Tensor FinalLoss(AttackObjective objective, Tensor x)
    {
        using var _ = no_grad();
        return objective.Evaluate(x).PerExampleLoss;
    }

    static (Tensor, Tensor) KeepBetter(AttackObjective objective, Tensor x, Tensor loss, Tensor? best, Tensor? bestLoss)
    {
        if (best is null || bestLoss is null) return (x.clone(), loss.clone());
        var better = objective.Better(loss, bestLoss);
        return (where(Expand(better, x), x, best), where(better, loss, bestLoss));
    }

    static Tensor Expand(Tensor perExample, Tensor like)
    {
        var shape = Enumerable.Repeat(1L, (int)like.dim()).ToArray();
        shape[0] = like.shape[0];
        return perExample.reshape(shape);
    }

    static AttackResult Measure(AttackObjective objective, Tensor original, Tensor adversarial, DisposeScope scope)
    {
        using var _ = no_grad();
        var value = objective.Evaluate(adversarial);
        var delta = (adversarial - original).flatten(1);
        var result = new AttackResult
        {
            Adversarial = adversarial.detach(),
            Loss = value.PerExampleLoss.detach(),
            Success = objective.Succeeded(value),
            L2 = delta.norm(1, p: 2),
            Linf = delta.abs().amax(1),
            Logits = value.Logits?.detach(),
        };
        scope.MoveToOuter(result.Adversarial, result.Loss, result.Success, result.L2, result.Linf);
        if (result.Logits is not null) scope.MoveToOuter(result.Logits);
        return result;
    }
}
