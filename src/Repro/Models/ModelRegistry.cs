using Repro.Data;
using Repro.Models.Tflite;
using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>
/// One ImageNet classifier Repro knows: its name, what it is, where its weights live under the
/// model root, whether they are there, how to load it (normalisation inside: it takes [0,1]
/// images) and, when they are missing, how to get them.
/// </summary>
public sealed record ModelEntry(
    string Name,
    string Description,
    Func<string, string?> FindWeights,
    Func<string, nn.Module<Tensor, Tensor>> LoadFrom,
    Func<string, string> HowToGet,
    VerifiedFile? Download = null)
{
    public bool IsPresent(string modelRoot) => FindWeights(modelRoot) != null;

    /// <summary>
    /// Loads the model in eval mode and runs the arithmetic self-check on its layers, or throws saying
    /// exactly which file to place where (or which layer's float32 arithmetic is wrong here).
    /// </summary>
    public nn.Module<Tensor, Tensor> Load(string modelRoot)
    {
        string weights = FindWeights(modelRoot) ?? throw new ReproInputException($"model '{Name}' is not available: {HowToGet(modelRoot)}");
        var model = LoadFrom(weights);
        model.eval();
        Runtime.ArithmeticSelfCheck.Ensure(model, Name, Runtime.ArithmeticSelfCheck.ImageNetInput);
        return model;
    }
}

/// <summary>The ImageNet classifiers of the article and of this machine, by name.</summary>
public static class ModelRegistry
{
    public static readonly IReadOnlyList<ModelEntry> ImageNet =
    [
        TorchvisionEntry("resnet18", "torchvision ResNet18, official ImageNet weights (the article's model)", KnownFiles.ResNet18),
        TorchvisionEntry("resnet50", "torchvision ResNet50, official ImageNet weights", KnownFiles.ResNet50),
        new ModelEntry(
            "mobilenet_v2",
            "MobileNetV2 1.0 224, TensorFlow Lite quantised ImageNet classifier, imported as a float TorchSharp module",
            root => File.Exists(TfliteImporter.MobileNetV2Path(root)) ? TfliteImporter.MobileNetV2Path(root) : null,
            path => TfliteImporter.Load(path),
            root => $"place {TfliteImporter.MobileNetV2File} (TensorFlow Lite hosted models: mobilenet_v2_1.0_224_quant) at {TfliteImporter.MobileNetV2Path(root)} (or point {ReproPaths.ModelVariable} at a model root that has it)"),
    ];

    public static IEnumerable<string> Names => ImageNet.Select(m => m.Name);

    public static ModelEntry Get(string name) =>
        ImageNet.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ReproInputException($"unknown model '{name}' (known: {string.Join(", ", Names)})");

    /// <summary>
    /// torchvision weights: the official .pth (its sha256 must start with the hex in its name, as
    /// torchvision checks) or the same tensors as &lt;name&gt;.safetensors.
    /// </summary>
    static ModelEntry TorchvisionEntry(string name, string description, VerifiedFile file) => new(
        name, description,
        root =>
        {
            string pth = file.PathUnder(root), safetensors = Path.Combine(root, name + ".safetensors");
            return File.Exists(pth) ? pth : File.Exists(safetensors) ? safetensors : null;
        },
        path =>
        {
            if (path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) && !file.Matches(path))
                throw new ReproInputException($"{path}: sha256 does not start with {file.Digest}; the file is corrupt or not the official weights ({file.Url})");
            return TorchvisionResNet.Load(name, path);
        },
        root => $"weights not present: download {file.Url} (sha256 starts with {file.Digest}) to {file.PathUnder(root)}, or run 'repro download {name}' on a machine with internet, or place the same tensors as {Path.Combine(root, name + ".safetensors")}",
        file);
}
