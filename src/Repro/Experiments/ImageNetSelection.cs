using Repro.Data;
using Repro.Models;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// The fixed rule every ImageNet experiment uses to choose its images, so nobody picks them by
/// hand: the first <c>count</c> validation images in sorted path order that the model classifies
/// correctly and whose class is not excluded (the attack's target).
/// </summary>
public static class ImageNetSelection
{
    public static LabelledImages FirstCorrect(nn.Module<Tensor, Tensor> model, ImageNetValidation validation, int count, int excludedClass = -1)
    {
        var picked = new List<ImageNetSample>();
        var candidates = validation.Samples.Where(s => s.Label != excludedClass).ToList();
        for (int start = 0; start < candidates.Count && picked.Count < count; start += count)
        {
            using var scope = NewDisposeScope();
            var batch = candidates.Skip(start).Take(count).ToList();
            using var images = ImageNetValidation.Load(batch, validation.Classes.Names);
            using var _ = no_grad();
            var predicted = model.forward(images.Images).argmax(1).data<long>().ToArray();
            for (int i = 0; i < batch.Count && picked.Count < count; i++)
                if (predicted[i] == batch[i].Label) picked.Add(batch[i]);
        }
        return ImageNetValidation.Load(picked, validation.Classes.Names);
    }

    /// <summary>
    /// What every ImageNet claim starts from: the model (or null when its weights are absent, with
    /// how to get them), the validation set and the images chosen by <see cref="FirstCorrect"/>.
    /// </summary>
    public static ImageNetInputs? Prepare(string modelName, ExperimentContext context, int count, int excludedClass, out string? notRunReason)
    {
        var entry = ModelRegistry.Get(modelName);
        notRunReason = entry.IsPresent(context.Paths.ModelRoot) ? null : entry.HowToGet(context.Paths.ModelRoot);
        if (notRunReason != null) return null;
        var model = entry.Load(context.Paths.ModelRoot);
        var validation = ImageNetValidation.Open(context.Paths.DataRoot);
        return new ImageNetInputs(model, validation, FirstCorrect(model, validation, count, excludedClass));
    }
}

/// <summary>A loaded ImageNet model, the validation set, and the images an experiment works on (owned: dispose).</summary>
public sealed record ImageNetInputs(nn.Module<Tensor, Tensor> Model, ImageNetValidation Validation, LabelledImages Images) : IDisposable
{
    public IReadOnlyList<string> Names => Validation.Classes.Names;
    public void Dispose() => Images.Dispose();
}
