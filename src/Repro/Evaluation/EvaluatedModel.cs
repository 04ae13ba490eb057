using Repro.Data;
using Repro.Models;
using Repro.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Evaluation;

/// <summary>What the model's images are: decides the default data set and how image files are read.</summary>
public enum ImageKind
{
    /// <summary>32x32 CIFAR-10 images, used as they are.</summary>
    Cifar,
    /// <summary>ImageNet images: shorter side 256, centre crop 224 (torchvision's evaluation transform).</summary>
    ImageNet,
}

/// <summary>A classifier to evaluate (in eval mode, taking [0,1] images), its class names, and the kind of images it takes.</summary>
public sealed record EvaluatedModel(string Name, nn.Module<Tensor, Tensor> Network, IReadOnlyList<string> ClassNames, ImageKind Kind);

/// <summary>
/// <c>repro robustness --model</c>: the committed CIFAR-10 cat-vs-airplane pair (cifar-standard,
/// cifar-robust: <see cref="CifarModels"/>), the ImageNet registry's names (<see cref="ModelRegistry"/>),
/// or a model file (<see cref="FromFile"/>, the seam for <c>Models/Formats</c>' ModelSource).
/// </summary>
public static class EvaluatedModels
{
    /// <summary>The model names <see cref="Resolve"/> accepts: cifar-standard, cifar-robust and the ImageNet registry's.</summary>
    public static IReadOnlyList<string> Names => ["cifar-standard", "cifar-robust", .. ModelRegistry.Names];

    /// <summary>A committed CIFAR model (cifar-standard, cifar-robust), an ImageNet registry model, or a model file (<see cref="FromFile"/>).</summary>
    /// <param name="nameOrPath">A name from <see cref="Names"/> (case-insensitive) or an existing file path.</param>
    /// <param name="paths">Where data and weights are found; ImageNet models also read <c>imagenet/synset_words.txt</c> under the data root.</param>
    /// <param name="log">Receives progress of loading or training the CIFAR models.</param>
    /// <exception cref="ReproInputException">The name is unknown and no such file exists, or a file is given (not supported yet).</exception>
    public static EvaluatedModel Resolve(string nameOrPath, ReproPaths paths, TextWriter log)
    {
        switch (nameOrPath.ToLowerInvariant())
        {
            case "cifar-standard": return Cifar(TrainingRecipe.Standard, paths, log);
            case "cifar-robust": return Cifar(TrainingRecipe.Robust, paths, log);
        }
        if (ModelRegistry.Names.Contains(nameOrPath, StringComparer.OrdinalIgnoreCase))
        {
            var network = ModelRegistry.Get(nameOrPath).Load(paths.ModelRoot);
            var classes = ImageNetClasses.Load(Path.Combine(paths.DataRoot, "imagenet", "synset_words.txt"));
            return new EvaluatedModel(nameOrPath.ToLowerInvariant(), network, classes.Wnids, ImageKind.ImageNet);
        }
        if (File.Exists(nameOrPath)) return FromFile(nameOrPath);
        throw new ReproInputException($"--model: unknown model '{nameOrPath}' (known: {string.Join(", ", Names)}, or a model file)");
    }

    /// <summary>
    /// The seam for your own model files. Loading them belongs to <c>Models/Formats</c> (a
    /// ModelSource that recognises a file's format and returns a module taking [0,1] images): until
    /// it lands, a path is refused with this message. Replace this body with the ModelSource call
    /// (plus the file's class names and image kind) — nothing else here changes.
    /// </summary>
    public static EvaluatedModel FromFile(string path) =>
        throw new ReproInputException($"--model {path}: evaluating a model file needs the model-file loader (Models/Formats), not in this build yet; use one of {string.Join(", ", Names)}");

    static EvaluatedModel Cifar(TrainingRecipe recipe, ReproPaths paths, TextWriter log)
    {
        var model = CifarModels.Get(recipe, paths, log);
        model.eval();
        return new EvaluatedModel($"cifar-{recipe.Name}", model, Cifar10.CatVsAirplane, ImageKind.Cifar);
    }
}
