using Repro.Data;
using Repro.Data.Assets;
using Repro.Models;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// The fixed rule every ImageNet experiment uses to choose its images, so nobody picks them by
/// hand: the first <c>count</c> validation images in sorted path order that the model classifies
/// correctly and whose class is not excluded (the attack's target). The model and the chosen images
/// are on the context's device; where the data has fewer such images than asked, all of them are used.
/// </summary>
internal static class ImageNetSelection
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
            var device = model.parameters().FirstOrDefault()?.device ?? CPU;
            var predicted = model.forward(images.Images.to(device)).argmax(1).cpu().data<long>().ToArray();
            for (int i = 0; i < batch.Count && picked.Count < count; i++)
                if (predicted[i] == batch[i].Label) picked.Add(batch[i]);
        }
        return ImageNetValidation.Load(picked, validation.Classes.Names);
    }

    /// <summary>
    /// What every ImageNet claim starts from: the model, the validation set and the images chosen by
    /// <see cref="FirstCorrect"/>. Absent weights or images are fetched where fetching is on.
    /// </summary>
    /// <exception cref="MissingInputsException">The weights or the validation images are absent (both named, one fix).</exception>
    public static ImageNetInputs Prepare(string modelName, ExperimentContext context, int count, int excludedClass)
    {
        var entry = ModelRegistry.Get(modelName);
        var needed = new List<Asset>();
        if (!entry.IsPresent(context.Paths.ModelRoot) && entry.Asset != null) needed.Add(entry.Asset);
        if (!ImageNetValidation.IsPresent(context.Paths.DataRoot)) needed.Add(AssetCatalogue.ImageNetValidation);
        AssetStore.Require(context.Paths, needed);
        var model = context.OnDevice(entry.Load(context.Paths.ModelRoot));
        var validation = ImageNetValidation.Open(context.Paths.DataRoot);
        using var chosen = FirstCorrect(model, validation, count, excludedClass);
        return new ImageNetInputs(model, validation, context.OnDevice(chosen)) { Asked = count };
    }
}

/// <summary>A loaded ImageNet model, the validation set, and the images an experiment works on (owned: dispose).</summary>
internal sealed record ImageNetInputs(nn.Module<Tensor, Tensor> Model, ImageNetValidation Validation, LabelledImages Images) : IDisposable
{
    public IReadOnlyList<string> Names => Validation.Classes.Names;
    /// <summary>How many images the experiment asked for (<see cref="Images"/> may hold fewer: all the data had).</summary>
    public int Asked { get; init; }
    /// <summary>The outcome's note when the data had fewer images than the scale asks for, else null.</summary>
    public string? Shortfall(Scale scale) => Scales.Shortfall(scale, Asked, Images.Count, "correctly classified validation images");
    public void Dispose() => Images.Dispose();
}
