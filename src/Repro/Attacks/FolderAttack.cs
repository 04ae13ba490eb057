using Repro.Data;
using Repro.Report;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>One attacked image of a folder: the model's prediction before and after, and how much the image changed.</summary>
public sealed record FolderAttackRow(string File, string Original, double OriginalConfidence, string Adversarial, double AdversarialConfidence, double L2, double Linf, double Psnr);

/// <summary>
/// Attacks a user's own images: every image file of a folder (sorted), with the ImageNet evaluation
/// transform, in batches; writes each adversarial image as PNG plus attack.tsv into the output
/// folder, all at once when everything is written. Untargeted attacks push away from the model's
/// own prediction on the clean image.
/// </summary>
public static class FolderAttack
{
    static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"];

    public static IReadOnlyList<FolderAttackRow> Run(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> classNames, string imageFolder,
        int? target, ThreatModel threat, PgdOptions options, string outputFolder, int batchSize = 8, Action<long, long>? progress = null, int imageSize = 224)
    {
        if (!Directory.Exists(imageFolder)) throw new ReproInputException($"image folder not found: {imageFolder}");
        var files = Directory.EnumerateFiles(imageFolder).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new ReproInputException($"no image files ({string.Join(", ", Extensions)}) in {imageFolder}");
        options.Validate();

        // The images go where the model is: the attack itself follows its inputs' device.
        var device = model.parameters().FirstOrDefault()?.device ?? CPU;
        string staging = ReportWriter.StagingFolder(outputFolder);
        try
        {
            var rows = new List<FolderAttackRow>();
            for (int start = 0; start < files.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = files.Skip(start).Take(batchSize).ToList();
                var images = stack(batch.Select(f => ImageFile.LoadResizedCentreCrop(f, resize: imageSize * 256 / 224, crop: imageSize)).ToArray()).to(device);
                Tensor clean;
                using (no_grad()) clean = softmax(model.forward(images), 1);
                var predicted = clean.argmax(1);
                var objective = target is int t
                    ? CrossEntropyObjective.Targeted(model, full(new long[] { batch.Count }, t, dtype: ScalarType.Int64, device: device))
                    : CrossEntropyObjective.Untargeted(model, predicted);
                using var result = Pgd.Run(objective, threat, images, options);
                var adversarial = softmax(result.Logits!, 1);
                var psnr = ImageDistance.Psnr(result.Adversarial, images);
                for (int i = 0; i < batch.Count; i++)
                {
                    int o = (int)predicted[i].item<long>(), a = (int)adversarial[i].argmax().item<long>();
                    ImageFile.SavePng(result.Adversarial[i], Path.Combine(staging, Path.GetFileNameWithoutExtension(batch[i]) + ".adv.png"));
                    rows.Add(new FolderAttackRow(Path.GetFileName(batch[i]), classNames[o], clean[i, o].item<float>(), classNames[a], adversarial[i, a].item<float>(),
                        result.L2[i].item<float>(), result.Linf[i].item<float>(), psnr[i].item<float>()));
                }
                progress?.Invoke(Math.Min(files.Count, start + batchSize), files.Count);
            }
            File.WriteAllLines(Path.Combine(staging, "attack.tsv"),
                ["file\toriginal\tconfidence\tadversarial\tconfidence\tL2\tLinf\tPSNR_dB",
                 .. rows.Select(r => $"{r.File}\t{r.Original}\t{r.OriginalConfidence:F4}\t{r.Adversarial}\t{r.AdversarialConfidence:F4}\t{r.L2:F4}\t{r.Linf:F4}\t{r.Psnr:F2}")]);
            ReportWriter.Publish(staging, outputFolder);
            return rows;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }
}
