using System.Diagnostics;
using Repro.Data;
using Repro.Models;

namespace Repro.Training;

/// <summary>
/// The claims' pair of CIFAR-10 cat-vs-airplane models, found in this order:
/// <list type="number">
/// <item>the committed weights <c>data/weights/smallresnet-{recipe}.pt</c> (shipped inside the assembly:
/// <see cref="CommittedWeights"/>), if the sha256 in the
/// <c>.pt.sha256</c> file beside them matches and their manifest's recipe hash is the current recipe's;</item>
/// <item>the weight cache (<see cref="ModelCache"/>), keyed by the recipe and the training data;</item>
/// <item>training now — announced loudly on stderr and in the log, since it takes minutes — and
/// saving to the cache.</item>
/// </list>
/// </summary>
internal static class CifarModels
{
    /// <summary>The folder of the committed weights (<see cref="CommittedWeights.Folder"/>).</summary>
    public static string CommittedFolder => CommittedWeights.Folder;
    /// <summary>Where the committed weights of <paramref name="recipe"/> are: <c>smallresnet-{recipe}.pt</c> in <see cref="CommittedFolder"/>.</summary>
    public static string CommittedPath(TrainingRecipe recipe) => Path.Combine(CommittedFolder, $"smallresnet-{recipe.Name}.pt");

    /// <summary>The model for <paramref name="recipe"/> (on the CPU when loaded; on <paramref name="device"/> when it had to be trained there).</summary>
    /// <param name="recipe">The recipe (standard or robust).</param>
    /// <param name="paths">Where CIFAR-10 is found, for the cache key or training.</param>
    /// <param name="log">Receives which weights were used, or the training progress.</param>
    /// <param name="cache">The weight cache; null for <see cref="ModelCache.Default"/>.</param>
    /// <param name="device">Where to train when neither the committed weights nor the cache have the model (default: the CPU).</param>
    public static SmallResNet Get(TrainingRecipe recipe, ReproPaths paths, TextWriter log, ModelCache? cache = null, TorchSharp.torch.Device? device = null)
    {
        // The check depends on the layers' configurations only, so the architecture is checked before any weights are loaded or trained.
        Runtime.ArithmeticSelfCheck.EnsureArchitecture(() => new SmallResNet(2, recipe.Width), $"SmallResNet (width {recipe.Width})", [3, SmallResNet.Side, SmallResNet.Side]);
        var committed = TryLoadCommitted(recipe, log);
        if (committed != null) return committed;

        cache ??= ModelCache.Default();
        using var train = Cifar10.Load(paths.DataRoot, Split.Train, Cifar10.CatVsAirplane);
        string identity = DataIdentity.Of(train);
        string key = recipe.Key(identity);
        var cached = cache.TryLoad(recipe, key, train.ClassNames.Count, log);
        if (cached != null) return cached;

        string loud = $"*** TRAINING the {recipe.Name} model now: no usable committed weights at {CommittedPath(recipe)} and nothing in the cache " +
                      $"{cache.Folder} for key {key[..16]}. This takes minutes (see data/weights/README.md to reproduce the committed files). ***";
        Console.Error.WriteLine(loud);
        log.WriteLine(loud);
        var watch = Stopwatch.StartNew();
        using var test = Cifar10.Load(paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);
        device ??= TorchSharp.torch.CPU;
        using var trainThere = new LabelledImages(Runtime.DevicePlacement.To(train.Images, device, "training images"), train.Labels.to(device), train.ClassNames);
        using var testThere = new LabelledImages(test.Images.to(device), test.Labels.to(device), test.ClassNames);
        var model = Trainer.Train(recipe, trainThere, testThere, log);
        cache.Save(model, recipe, Manifest(recipe, key, identity, paths, watch.Elapsed, new()));
        return model;
    }

    /// <summary>sha256 of the weights <see cref="Get"/> returns for this recipe: the committed file's when it is used, else the cached file's.</summary>
    public static string WeightsSha256(TrainingRecipe recipe)
    {
        string path = CommittedPath(recipe);
        if (File.Exists(path)) return ModelCache.Sha256(path);
        var cached = Directory.Exists(ModelCache.Default().Folder)
            ? Directory.EnumerateFiles(ModelCache.Default().Folder, $"{recipe.Name}-*.pt").Order().FirstOrDefault() : null;
        return cached is null ? "unknown" : ModelCache.Sha256(cached);
    }

    /// <summary>The committed weights for this recipe, or null (with the reason in the log) when absent or not trustworthy.</summary>
    public static SmallResNet? TryLoadCommitted(TrainingRecipe recipe, TextWriter log)
    {
        string weights = CommittedPath(recipe);
        string shaFile = weights + ".sha256", manifestFile = Path.ChangeExtension(weights, ".json");
        if (!File.Exists(weights))
        {
            Warn(log, $"committed weights absent: {weights}");
            return null;
        }
        if (!File.Exists(shaFile) || !File.Exists(manifestFile))
        {
            Warn(log, $"committed weights {weights} have no {Path.GetFileName(shaFile)} or {Path.GetFileName(manifestFile)} beside them: not used");
            return null;
        }
        string expected = File.ReadAllText(shaFile).Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        string actual = ModelCache.Sha256(weights);
        if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
        {
            Warn(log, $"committed weights {weights} have sha256 {actual}, but {Path.GetFileName(shaFile)} records {expected}: not used");
            return null;
        }
        var manifest = WeightManifest.Read(manifestFile);
        if (manifest.RecipeHash != recipe.RecipeHash())
        {
            Warn(log, $"committed weights {weights} were trained with another recipe (hash {manifest.RecipeHash[..16]}, current {recipe.RecipeHash()[..16]}): not used");
            return null;
        }
        log.WriteLine($"loaded committed weights {weights} (sha256 {actual[..16]}…, recipe {recipe.Name}, trained on {manifest.DataDescription})");
        return ModelCache.Load(weights, recipe, 2);
    }

    /// <summary>The manifest describing weights trained by <paramref name="recipe"/> (with <see cref="WeightManifest.WeightsSha256"/> left empty for the caller).</summary>
    /// <param name="recipe">The recipe trained.</param>
    /// <param name="key">The cache key (recipe and data identity).</param>
    /// <param name="identity">The training data's identity sha256 (hex).</param>
    /// <param name="paths">The roots in use.</param>
    /// <param name="elapsed">Training time.</param>
    /// <param name="measured">Measured numbers by name (accuracies).</param>
    /// <param name="command">The command line, or null.</param>
    public static WeightManifest Manifest(TrainingRecipe recipe, string key, string identity, ReproPaths paths, TimeSpan elapsed,
                                          Dictionary<string, double> measured, string? command = null) => new()
                                          {
                                              Recipe = recipe.Describe(),
                                              RecipeCanonical = recipe.Canonical(),
                                              RecipeHash = recipe.RecipeHash(),
                                              Key = key,
                                              DataIdentity = identity,
                                              DataDescription = $"CIFAR-10 cat (label 0) vs airplane (label 1) training split, 10,000 images, data identity sha256 {identity[..16]}…",
                                              WeightsSha256 = "",
                                              TrainingMinutes = Math.Round(elapsed.TotalMinutes, 2),
                                              Threads = TorchSharp.torch.get_num_threads(),
                                              Command = command,
                                              Measured = measured,
                                          };

    static void Warn(TextWriter log, string message)
    {
        Console.Error.WriteLine("WARNING: " + message);
        log.WriteLine("WARNING: " + message);
    }
}
