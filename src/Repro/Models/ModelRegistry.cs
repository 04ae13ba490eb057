using Repro.Data;
using Repro.Data.Assets;
using Repro.Models.Tflite;
using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>
/// One ImageNet classifier Repro knows: its name, what it is, where its weights live under the
/// model root, whether they are there, how to load it (normalisation inside: it takes [0,1]
/// images) and, when they are missing, how to get them. <see cref="Asset"/> is the catalogue entry
/// its weights come from (null for a model whose file the user provides).
/// </summary>
internal sealed record ModelEntry(
    string Name,
    string Description,
    Func<string, string?> FindWeights,
    Func<string, nn.Module<Tensor, Tensor>> LoadFrom,
    Func<string, string> HowToGet,
    Asset? Asset = null)
{
    public bool IsPresent(string modelRoot) => FindWeights(modelRoot) != null;

    /// <summary>
    /// Loads the model in eval mode and runs the arithmetic self-check on its layers. Absent weights
    /// are fetched from the catalogue when fetching is on (<see cref="AssetStore.OnDemand"/>).
    /// </summary>
    /// <exception cref="MissingInputsException">The weights are absent (saying exactly which file to place where, or which command gets it).</exception>
    /// <exception cref="ReproEnvironmentException">A layer's float32 arithmetic is wrong here (naming the layer).</exception>
    public nn.Module<Tensor, Tensor> Load(string modelRoot)
    {
        string weights = FindWeights(modelRoot)
            ?? (Asset != null ? AssetStore.Require(Asset, modelRoot) : throw new MissingInputsException($"model '{Name}' is not available under {modelRoot}", HowToGet(modelRoot)));
        var model = LoadFrom(weights);
        model.eval();
        Runtime.ArithmeticSelfCheck.Ensure(model, Name, Runtime.ArithmeticSelfCheck.ImageNetInput);
        return model;
    }
}

/// <summary>The ImageNet classifiers of the article and of this machine, by name.</summary>
internal static class ModelRegistry
{
    public static readonly IReadOnlyList<ModelEntry> ImageNet =
    [
        TorchvisionEntry("resnet18", "torchvision ResNet18, official ImageNet weights (the article's model)", AssetCatalogue.ResNet18),
        TorchvisionEntry("resnet50", "torchvision ResNet50, official ImageNet weights", AssetCatalogue.ResNet50),
        new ModelEntry(
            "mobilenet_v2",
            "MobileNetV2 1.0 224, TensorFlow Lite quantised ImageNet classifier, imported as a float TorchSharp module",
            root => AssetCatalogue.MobileNetV2.Find(root),
            path => TfliteImporter.Load(path),
            root => AssetStore.Fix([(AssetCatalogue.MobileNetV2, root)]),
            AssetCatalogue.MobileNetV2),
    ];

    public static IEnumerable<string> Names => ImageNet.Select(m => m.Name);

    public static ModelEntry Get(string name) =>
        ImageNet.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ReproInputException($"unknown model '{name}' (known: {string.Join(", ", Names)})");

    /// <summary>
    /// torchvision weights: the official .pth (its sha256 must start with the hex in its name, as
    /// torchvision checks) or the same tensors as &lt;name&gt;.safetensors.
    /// </summary>
    static ModelEntry TorchvisionEntry(string name, string description, Asset asset) => new(
        name, description,
        root =>
        {
            string? pth = asset.Find(root);
            string safetensors = Path.Combine(root, name + ".safetensors");
            return pth ?? (File.Exists(safetensors) ? safetensors : null);
        },
        path =>
        {
            if (path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) && !asset.Checksum.Matches(FileDigests.Of(path)))
                throw new ReproInputException($"{path}: sha256 does not start with {asset.Checksum.Digest}; the file is corrupt or not the official weights ({asset.Url})");
            return TorchvisionResNet.Load(name, path);
        },
        root => AssetStore.Fix([(asset, root)]) + $", or place the same tensors as {Path.Combine(root, name + ".safetensors")}",
        asset);
}
