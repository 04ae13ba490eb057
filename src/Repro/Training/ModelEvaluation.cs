using Repro.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>Accuracy and accuracy under attack of a classifier on images in [0,1], in batches, in eval mode.</summary>
internal static class ModelEvaluation
{
    public static double Accuracy(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, int batchSize = 500)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            long correct = 0, n = images.shape[0];
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                long len = Math.Min(batchSize, n - start);
                correct += model.forward(images.narrow(0, start, len)).argmax(1).eq(labels.narrow(0, start, len)).sum().item<long>();
            }
            return (double)correct / n;
        }
        finally { model.train(wasTraining); }
    }
}

/// <summary>What an attack over a whole set did: accuracy at the attacked images, attack success, mean PSNR, and the adversarial images.</summary>
internal sealed class AttackSummary : IDisposable
{
    public required double Accuracy { get; init; }
    public required double SuccessRate { get; init; }
    public required double MeanPsnr { get; init; }
    public required double MeanL2 { get; init; }
    public required Tensor Adversarial { get; init; }
    public required Tensor Predictions { get; init; }
    public void Dispose() { Adversarial.Dispose(); Predictions.Dispose(); }

    /// <summary>
    /// Runs PGD on every image through the one batched runner (<see cref="BatchedAttack"/>; model in
    /// eval mode), each example's randomness keyed by the seed and its own id (never re-seeded per
    /// batch). Targeted toward <paramref name="targets"/> when given, else untargeted away from the
    /// labels. Accuracy = prediction at the returned image equals the label; success = the objective's
    /// own success (target reached / label left).
    /// </summary>
    public static AttackSummary Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Tensor? targets,
                                    ThreatModel threat, AttackRun run, PgdOptions options, int batchSize = 250)
    {
        model.eval();
        long n = images.shape[0];
        using var scope = NewDisposeScope();
        using var result = BatchedAttack.Pgd((start, length) => targets is null
                ? CrossEntropyObjective.Untargeted(model, labels.narrow(0, start, length))
                : CrossEntropyObjective.Targeted(model, targets.narrow(0, start, length)),
            images, threat, run, options, batchSize);
        double success = result.Success.sum().item<long>();
        double psnr = ImageDistance.Psnr(result.Adversarial, images).sum().item<float>();
        double l2 = result.L2.sum().item<float>();
        var adv = result.Adversarial.detach().clone().MoveToOuterDisposeScope();
        var pred = result.Logits!.argmax(1).MoveToOuterDisposeScope();
        double accuracy;
        using (var eq = pred.eq(labels)) accuracy = eq.to_type(ScalarType.Float32).mean().item<float>();
        return new AttackSummary
        {
            Accuracy = accuracy, SuccessRate = success / n, MeanPsnr = psnr / n, MeanL2 = l2 / n, Adversarial = adv, Predictions = pred,
        };
    }
}
