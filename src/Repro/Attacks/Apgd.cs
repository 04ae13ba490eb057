using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Auto-PGD (Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of
/// diverse parameter-free attacks", ICML 2020): the shared first-order loop
/// (<see cref="GradientAttackLoop"/>) with APGD's step rule (<see cref="ApgdStep"/>), from a random
/// start, returning per example a successful iterate if one was seen (then the best loss), else the
/// best-loss iterate. An iteration costs what a PGD step costs: one forward and one input-backward
/// pass. Losses: cross-entropy (<see cref="CrossEntropyObjective"/>), DLR (<see cref="DlrObjective"/>,
/// >= 3 classes), the logit margin for two-class models (<see cref="MarginObjective"/>), and targeted
/// DLR over several target classes (<see cref="RunTargeted"/>, APGD-T, >= 4 classes). Threat models:
/// <see cref="L2Ball"/> and <see cref="LinfBall"/>.
/// </summary>
public static class Apgd
{
    /// <summary>Runs APGD on <paramref name="objective"/> from random starts in <paramref name="threat"/> around <paramref name="images"/>.</summary>
    /// <param name="objective">What to optimise (cross-entropy, <see cref="DlrObjective"/>, <see cref="MarginObjective"/>, ...); its modules are frozen meanwhile.</param>
    /// <param name="threat">A bounded ball, <see cref="L2Ball"/> or <see cref="LinfBall"/> (eps in [0,1] pixel units).</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="options">Iterations, restarts, step schedule, seed and example ids.</param>
    /// <returns>Per example a successful iterate if one was seen (then the best loss), else the best-loss iterate, with its loss, success and perturbation norms.</returns>
    /// <exception cref="ReproInputException">Invalid options, an unbounded threat model, or example ids that do not match the batch.</exception>
    public static AttackResult Run(AttackObjective objective, ThreatModel threat, Tensor images, ApgdOptions options) =>
        Run(objective, threat, images, options, RandomPurpose.ApgdStart, [], options.Progress);

    static AttackResult Run(AttackObjective objective, ThreatModel threat, Tensor images, ApgdOptions options, RandomPurpose purpose, long[] instance, Action<long, long>? progress)
    {
        options.Validate();
        var settings = new LoopSettings
        {
            Steps = options.Iterations, Restarts = options.Restarts, RandomStart = true, Seed = options.Seed, ExampleIds = options.ExampleIds,
            Purpose = purpose, PurposeInstance = instance, Choice = IterateChoice.BestLoss, StopOnSuccess = options.StopOnSuccess, Progress = progress, Precision = options.Precision,
        };
        return GradientAttackLoop.Run(objective, threat, images, settings, () => new ApgdStep(options, options.Iterations));
    }

    /// <summary>
    /// APGD-T: APGD on the targeted DLR loss toward, in turn, the classes with the 2nd, 3rd, ...
    /// highest clean logits other than the label (<see cref="ApgdOptions.TargetClasses"/> of them,
    /// at most classes − 1); each run attacks only the examples the earlier runs did not fool.
    /// Success is untargeted (the prediction leaves the label). Needs >= 4 classes.
    /// </summary>
    public static AttackResult RunTargeted(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, ApgdOptions options)
    {
        Guard.NotNull(model);
        Guard.Images(images);
        Guard.Classes(labels, images.shape[0]);
        Guard.NotNull(threat);
        Guard.NotNull(options).Validate();
        var ids = ExampleIds.Resolve(images, options.ExampleIds);
        Tensor ranking;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var logits = model.forward(images);
            DlrObjective.Require(logits, TargetedDlrObjective.MinimumClasses, "APGD-T (the targeted DLR loss)", "its denominator uses the third and fourth largest logits");
            Guard.ClassesFit(labels, logits.shape[1], nameof(labels));
            // Classes by clean logit, highest first, with the label moved last.
            var index = labels.to(logits.device).unsqueeze(1);
            ranking = logits.scatter(1, index, full_like(logits[.., ..1], double.NegativeInfinity)).argsort(1, descending: true).MoveToOuterDisposeScope();
        }
        using var _ = ranking;
        int targets = (int)Math.Min(options.TargetClasses, ranking.shape[1] - 1);
        long total = (long)targets * options.Iterations * options.Restarts, offset = 0;
        AttackResult? result = null;
        try
        {
            for (int k = 0; k < targets; k++)
            {
                using var scope = NewDisposeScope();
                var rows = result is null ? arange(images.shape[0], device: images.device) : nonzero(result.Success.logical_not()).flatten();
                if (rows.shape[0] == 0) break;
                var rowIds = rows.cpu().data<long>().ToArray().Select(r => ids[r]).ToArray();
                var target = ranking.index_select(0, rows.to(ranking.device))[.., k];
                var objective = new TargetedDlrObjective(model, labels.index_select(0, rows.to(labels.device)), target);
                long done = offset;
                using var run = Run(objective, threat, images.index_select(0, rows), options with { ExampleIds = rowIds }, RandomPurpose.ApgdTargetedStart, [k],
                    options.Progress is null ? null : (d, _) => options.Progress(done + d, total));
                offset += (long)options.Iterations * options.Restarts;
                if (result is null)
                {
                    result = Detach(run);
                    continue;
                }
                // Later runs only cover examples not yet fooled: take their iterate where they fooled it.
                var fooled = run.Success;
                var take = rows.index_select(0, nonzero(fooled).flatten());
                var from = nonzero(fooled).flatten();
                result.Adversarial.index_copy_(0, take, run.Adversarial.index_select(0, from));
                result.Loss.index_copy_(0, take, run.Loss.index_select(0, from));
                result.Success.index_copy_(0, take, run.Success.index_select(0, from));
                result.L2.index_copy_(0, take, run.L2.index_select(0, from));
                result.Linf.index_copy_(0, take, run.Linf.index_select(0, from));
                result.Logits?.index_copy_(0, take, run.Logits!.index_select(0, from));
            }
            options.Progress?.Invoke(total, total);
            return result!;
        }
        catch
        {
            result?.Dispose();
            throw;
        }
    }

    static AttackResult Detach(AttackResult r) => new()
    {
        Adversarial = r.Adversarial.clone().DetachFromDisposeScope(), Loss = r.Loss.clone().DetachFromDisposeScope(),
        Success = r.Success.clone().DetachFromDisposeScope(), L2 = r.L2.clone().DetachFromDisposeScope(),
        Linf = r.Linf.clone().DetachFromDisposeScope(), Logits = r.Logits?.clone().DetachFromDisposeScope(),
    };
}
