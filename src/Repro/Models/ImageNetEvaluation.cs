using Repro.Data;
using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>Top-1 and top-5 accuracy of a classifier over some ImageNet validation images.</summary>
internal sealed record ImageNetAccuracy(int Count, int Top1Correct, int Top5Correct)
{
    /// <summary>Fraction with the label as the highest logit, in [0,1] (0 when Count is 0).</summary>
    public double Top1 => Count == 0 ? 0 : (double)Top1Correct / Count;
    /// <summary>Fraction with the label among the five highest logits, in [0,1] (0 when Count is 0).</summary>
    public double Top5 => Count == 0 ? 0 : (double)Top5Correct / Count;
    /// <summary>Top-1 and top-5 accuracy with their counts, for logs.</summary>
    public override string ToString() => $"top-1 {Top1:P1} ({Top1Correct}/{Count}), top-5 {Top5:P1} ({Top5Correct}/{Count})";
}

/// <summary>
/// Evaluates a 1000-class ImageNet classifier (images [N,3,224,224] in [0,1] to logits [N,1000])
/// on validation samples, loading them in batches with the standard evaluation transform
/// (<see cref="ImageNetValidation.Load"/>). No gradients are kept, and each batch's tensors are
/// freed before the next is loaded, so memory stays at one batch whatever the sample count.
/// </summary>
internal static class ImageNetEvaluation
{
    /// <summary>Top-1 and top-5 accuracy of <paramref name="model"/> on <paramref name="samples"/>, in eval mode without gradients (the training flag is restored).</summary>
    /// <param name="model">The classifier: [N,3,S,S] images in [0,1] to logits [N,1000], on its parameters' device.</param>
    /// <param name="samples">The validation images and their labels.</param>
    /// <param name="batchSize">Images per batch, &gt;= 1.</param>
    /// <param name="progress">Called after each batch with (images done, total).</param>
    /// <param name="imageSize">The square side the model takes (the transform resizes to 256/224 of it, then crops).</param>
    /// <param name="decode">Decoding limits (<see cref="ImageDecoder"/>); a bad image throws <see cref="ReproInputException"/> naming it.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> &lt; 1.</exception>
    /// <exception cref="ArgumentException">The model does not return logits [N,K] with K &gt;= 5.</exception>
    public static ImageNetAccuracy Evaluate(nn.Module<Tensor, Tensor> model, IReadOnlyList<ImageNetSample> samples, int batchSize = 32, Action<int, int>? progress = null,
        ImageDecodeOptions? decode = null, int imageSize = 224)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be positive");
        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            int top1 = 0, top5 = 0;
            for (int start = 0; start < samples.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batchSamples = samples.Skip(start).Take(batchSize).ToList();
                using var batch = ImageNetValidation.Load(batchSamples, [], resize: imageSize * 256 / 224, crop: imageSize, decode: decode);
                var logits = model.call(batch.Images.to(device));
                if (logits.dim() != 2 || logits.shape[1] < 5)
                    throw new ArgumentException($"expected logits [N,1000] from the model, got [{string.Join(",", logits.shape)}]");
                var labels = batch.Labels.to(device).unsqueeze(1);
                var best5 = logits.topk(5, dim: 1).indexes;
                top1 += (int)best5.narrow(1, 0, 1).eq(labels).sum().item<long>();
                top5 += (int)best5.eq(labels).any(1).sum().item<long>();
                progress?.Invoke(start + batchSamples.Count, samples.Count);
            }
            return new ImageNetAccuracy(samples.Count, top1, top5);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
