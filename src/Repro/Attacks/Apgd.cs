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
    /// <param name="objective">What to optimise (cross-entropy untargeted or targeted, <see cref="DlrObjective"/>, <see cref="MarginObjective"/>, ...); its modules are frozen meanwhile.</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="threat">A bounded ball, <see cref="L2Ball"/> or <see cref="LinfBall"/> (eps in [0,1] pixel units).</param>
    /// <param name="run">This call's seed, example ids, progress callback (iterations done, iterations in all, restarts included) and precision.</param>
    /// <param name="options">Iterations, restarts and step schedule; null: the published defaults (<see cref="ApgdOptions"/>).</param>
    /// <returns>Per example a successful iterate if one was seen (then the best loss), else the best-loss iterate, with its loss, success and perturbation norms.</returns>
    /// <exception cref="ArgumentNullException">The objective, images, threat model or run is null.</exception>
    /// <exception cref="ReproInputException">Invalid options, an unbounded threat model, or example ids that do not match the batch.</exception>
    public static AttackResult Run(AttackObjective objective, Tensor images, ThreatModel threat, AttackRun run, ApgdOptions? options = null) =>
        Search(objective, images, threat, run, options ?? new ApgdOptions(), RandomPurpose.ApgdStart, []);

    static AttackResult Search(AttackObjective objective, Tensor images, ThreatModel threat, AttackRun run, ApgdOptions options, RandomPurpose purpose, long[] instance)
    {
        options.Validate();
        var settings = new LoopSettings
        {
            Steps = options.Iterations, Restarts = options.Restarts, RandomStart = true,
            Purpose = purpose, PurposeInstance = instance, Choice = IterateChoice.BestLoss, StopOnSuccess = options.StopOnSuccess,
        };
        return GradientAttackLoop.Run(objective, images, threat, run, settings, () => new ApgdStep(options, options.Iterations));
    }

    /// <summary>
    /// APGD-T: APGD on the targeted DLR loss toward, in turn, the classes with the 2nd, 3rd, ...
    /// highest clean logits other than the label (<see cref="ApgdOptions.TargetClasses"/> of them,
    /// at most classes − 1); each run attacks only the examples the earlier runs did not fool.
    /// Success is untargeted (the prediction leaves the label). Needs >= 4 classes. Arguments as
    /// <see cref="IAttack.Run"/>'s, with the APGD settings last.
    /// </summary>
    /// <param name="model">The classifier: images [N,C,H,W] in [0,1] to logits [N,classes].</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="labels">True labels [N], int64.</param>
    /// <param name="threat"><see cref="L2Ball"/> or <see cref="LinfBall"/> (eps in [0,1] pixel units).</param>
    /// <param name="run">This call's seed, example ids, progress callback (over every target class) and precision.</param>
    /// <param name="options">Iterations, restarts, step schedule and target classes; null: the published defaults.</param>
    /// <returns>The merged result: per example the first target class's run that fooled it, else the last run's iterate.</returns>
    /// <exception cref="ArgumentNullException">An argument other than the options is null.</exception>
    /// <exception cref="ReproInputException">Invalid options, fewer than 4 classes, labels outside the classes, or example ids that do not match the batch.</exception>
    public static AttackResult RunTargeted(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run, ApgdOptions? options = null)
    {
        Guard.NotNull(model);
        Guard.Images(images);
        Guard.Classes(labels, images.shape[0]);
        Guard.NotNull(threat);
        Guard.Run(run, images.shape[0]);
        options ??= new ApgdOptions();
        options.Validate();
        var ids = ExampleIds.Resolve(images, run.ExampleIds);
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
                using var part = Search(objective, images.index_select(0, rows), threat,
                    run with { ExampleIds = rowIds, Progress = run.Progress is null ? null : (d, _) => run.Progress(done + d, total) },
                    options, RandomPurpose.ApgdTargetedStart, [k]);
                offset += (long)options.Iterations * options.Restarts;
                if (result is null)
                {
                    result = Detach(part);
                    continue;
                }
                // Later runs only cover examples not yet fooled: take their iterate where they fooled it.
                var fooled = part.Success;
                var take = rows.index_select(0, nonzero(fooled).flatten());
                var from = nonzero(fooled).flatten();
                result.Adversarial.index_copy_(0, take, part.Adversarial.index_select(0, from));
                result.Loss.index_copy_(0, take, part.Loss.index_select(0, from));
                result.Success.index_copy_(0, take, part.Success.index_select(0, from));
                result.L2.index_copy_(0, take, part.L2.index_select(0, from));
                result.Linf.index_copy_(0, take, part.Linf.index_select(0, from));
                result.Logits?.index_copy_(0, take, part.Logits!.index_select(0, from));
            }
            run.Progress?.Invoke(total, total);
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
