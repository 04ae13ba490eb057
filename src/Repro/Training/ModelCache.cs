using TorchSharp;
using System.Security.Cryptography;
using System.Text.Json;
using Repro.Data;
using Repro.Models;

namespace Repro.Training;

/// <summary>What is recorded beside a weight file: the recipe, its keys, the data, how it was made and how it measured.</summary>
internal sealed record WeightManifest
{
    public required string Recipe { get; init; }
    public required string RecipeCanonical { get; init; }
    public required string RecipeHash { get; init; }
    public required string Key { get; init; }
    public required string DataIdentity { get; init; }
    public required string DataDescription { get; init; }
    public required string WeightsSha256 { get; init; }
    public double TrainingMinutes { get; init; }
    public int Threads { get; init; }
    /// <summary>The device it was trained on ("cpu", "cuda:0"); absent in manifests written before devices were recorded (the CPU).</summary>
    public string? Device { get; init; }
    public string? Command { get; init; }
    public Dictionary<string, double> Measured { get; init; } = [];

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static WeightManifest Read(string path) =>
        JsonSerializer.Deserialize<WeightManifest>(File.ReadAllText(path)) ?? throw new ReproInputException($"empty weight manifest {path}");
}

/// <summary>
/// Trained weights as files, keyed by the full recipe (<see cref="TrainingRecipe.Key"/>: every
/// hyperparameter, the seed and the training data's identity): <c>{name}-{key[..16]}.pt</c>
/// (TorchSharp's <c>module.save</c> format, BatchNorm statistics included) and a
/// <c>.json</c> manifest beside it. Files are written under temporary names and renamed into
/// place; a weight file whose sha256 does not match its manifest is ignored.
/// </summary>
internal sealed class ModelCache(string folder)
{
    public string Folder { get; } = folder;

    /// <summary>The default cache: <c>weight-cache/</c> in the per-user cache (<see cref="ReproPaths.CacheRoot"/>), wherever the command runs.</summary>
    public static ModelCache Default() => new(Path.Combine(ReproPaths.CacheRoot(), "weight-cache"));

    public string WeightsPath(TrainingRecipe recipe, string key) => Path.Combine(Folder, $"{recipe.Name}-{key[..16]}.pt");

    public SmallResNet? TryLoad(TrainingRecipe recipe, string key, int classes, TextWriter log)
    {
        string weights = WeightsPath(recipe, key);
        string manifest = Path.ChangeExtension(weights, ".json");
        if (!File.Exists(weights) || !File.Exists(manifest)) return null;
        var m = WeightManifest.Read(manifest);
        if (m.Key != key || Sha256(weights) != m.WeightsSha256)
        {
            log.WriteLine($"weight cache: ignoring {weights}: its manifest does not match (key or sha256)");
            return null;
        }
        log.WriteLine($"weight cache: loaded {weights}");
        return Load(weights, recipe, classes);
    }

    public void Save(SmallResNet model, TrainingRecipe recipe, WeightManifest manifest)
    {
        string weights = WeightsPath(recipe, manifest.Key);
        var written = SaveWeights(model, weights);
        AtomicFile.WriteAllText(Path.ChangeExtension(weights, ".json"), (manifest with { WeightsSha256 = written }).ToJson());
    }

    /// <summary>
    /// Saves the model's state to <paramref name="path"/> atomically; returns the file's sha256. A
    /// model on a GPU is saved from the CPU (moved there for the write and back), so the file is the
    /// same whichever device trained it.
    /// </summary>
    public static string SaveWeights(SmallResNet model, string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".{Guid.NewGuid():N}.tmp";
        var device = model.parameters().First().device;
        try
        {
            if (device.type != TorchSharp.DeviceType.CPU) model.to(TorchSharp.torch.CPU);
            model.save(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (device.type != TorchSharp.DeviceType.CPU) model.to(device);
            if (File.Exists(temp)) File.Delete(temp);
        }
        return Sha256(full);
    }

    public static SmallResNet Load(string path, TrainingRecipe recipe, int classes)
    {
        var model = new SmallResNet(classes, recipe.Width);
        model.load(path);
        model.eval();
        return model;
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
