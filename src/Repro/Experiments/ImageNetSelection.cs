using Repro.Data;
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
}
