using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Projected gradient descent (Madry et al. 2018) over any threat model and any objective.
/// Each step costs one forward and one backward pass with respect to the input only (the
/// objective's parameters are frozen); one more forward pass per restart measures the final
/// iterate, and the result reuses it (loss, logits, success) instead of measuring again.
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
            Iterate? best = null;
            for (int restart = 0; restart < options.Restarts; restart++)
            {
                var candidate = RunOnce(objective, threat, original, options, generator, restart);
                best = best is null ? candidate : Iterate.Better(objective, candidate, best);
            }
            return Measure(objective, original, best!, scope);
        }
        finally
        {
            generator.Dispose();
        }
    }

    /// <summary>One run from one start: the chosen images with their per-example loss and logits.</summary>
    static Iterate RunOnce(AttackObjective objective, ThreatModel threat, Tensor original, PgdOptions options, Generator generator, int restart)
    {
        Tensor x;
        using (no_grad()) x = options.RandomStart ? threat.RandomStart(original, generator) : original.clone();
        Iterate? best = null;
        double sign = objective.Direction == Direction.Ascend ? 1.0 : -1.0;

        for (int step = 0; step < options.Steps; step++)
        {
            Tensor previous = x;
            Iterate? previousBest = best;
            using (var stepScope = NewDisposeScope())
            {
                var input = x.detach().requires_grad_(true);
                var value = objective.Evaluate(input);
                var gradient = InputGradient.Of(value.PerExampleLoss.sum(), input);
                using (no_grad())
                {
                    if (options.KeepBest)
                    {
                        var seen = new Iterate(x, value.PerExampleLoss.detach(), value.Logits?.detach());
                        best = best is null ? seen.Copy() : Iterate.Better(objective, seen, best);
                        best.MoveToOuter(stepScope);
                    }
                    x = threat.StepAndProject(original, x, gradient, sign * options.StepSize);
                    stepScope.MoveToOuter(x);
                }
            }
            options.Progress?.Invoke((long)restart * options.Steps + step + 1, (long)options.Restarts * options.Steps);
            // The iterates of earlier steps are no longer needed: free them now, not when the attack ends.
            previous.Dispose();
            if (previousBest is not null && !ReferenceEquals(previousBest, best)) previousBest.Dispose();
        }

        Iterate final;
        using (no_grad())
        {
            var value = objective.Evaluate(x);
            final = new Iterate(x, value.PerExampleLoss, value.Logits);
        }
        return best is null ? final : Iterate.Better(objective, final, best);
    }

    static AttackResult Measure(AttackObjective objective, Tensor original, Iterate chosen, DisposeScope scope)
    {
        using var _ = no_grad();
        var delta = (chosen.Images - original).flatten(1);
        var result = new AttackResult
        {
            Adversarial = chosen.Images.detach(),
            Loss = chosen.Loss.detach(),
            Success = objective.Succeeded(new ObjectiveValue(chosen.Loss, chosen.Logits)),
            L2 = delta.norm(1, p: 2),
            Linf = delta.abs().amax(1),
            Logits = chosen.Logits?.detach(),
        };
        scope.MoveToOuter(result.Adversarial, result.Loss, result.Success, result.L2, result.Linf);
        if (result.Logits is not null) scope.MoveToOuter(result.Logits);
        return result;
    }

    /// <summary>
    /// Images with the objective's per-example loss and logits at them. Choosing per example between
    /// two iterates chooses all three, so the final result never needs another forward pass.
    /// </summary>
    sealed record Iterate(Tensor Images, Tensor Loss, Tensor? Logits) : IDisposable
    {
        /// <summary>Per example, <paramref name="candidate"/> where it is better for the attacker, else <paramref name="incumbent"/>.</summary>
        public static Iterate Better(AttackObjective objective, Iterate candidate, Iterate incumbent)
        {
            using var better = objective.Better(candidate.Loss, incumbent.Loss);
            return new Iterate(
                where(Expand(better, candidate.Images), candidate.Images, incumbent.Images),
                where(better, candidate.Loss, incumbent.Loss),
                candidate.Logits is null || incumbent.Logits is null ? null : where(Expand(better, candidate.Logits), candidate.Logits, incumbent.Logits));
        }

        public Iterate Copy() => new(Images.clone(), Loss.clone(), Logits?.clone());

        public void MoveToOuter(DisposeScope scope)
        {
            scope.MoveToOuter(Images, Loss);
            if (Logits is not null) scope.MoveToOuter(Logits);
        }

        public void Dispose()
        {
            Images.Dispose();
            Loss.Dispose();
            Logits?.Dispose();
        }

        static Tensor Expand(Tensor perExample, Tensor like)
        {
            var shape = Enumerable.Repeat(1L, (int)like.dim()).ToArray();
            shape[0] = like.shape[0];
            return perExample.reshape(shape);
        }
    }
}
