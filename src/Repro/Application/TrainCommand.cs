using System.Diagnostics;
using Repro.Data;
using Repro.Runtime;
using Repro.Training;

namespace Repro.Application;

/// <summary>
/// Retrains one of the claims' CIFAR models by its recipe (<c>repro train</c>), on the given device
/// (always, ignoring the caches), measures it on the whole cat/airplane test split (clean, and
/// untargeted L2 PGD at eps 1.25: step 0.5, 20 steps), stores it in the weight cache, and with
/// <c>commit</c> writes <c>data/weights/smallresnet-{recipe}.pt</c>, its <c>.pt.sha256</c> and
/// its <c>.json</c> manifest (recipe, data identity, timings, measured numbers).
/// </summary>
internal static class TrainCommand
{
    /// <summary>Trains, measures, caches and (with <paramref name="commit"/>) commits; returns the exit code 0.</summary>
    /// <param name="recipeName">The recipe: standard or robust (<see cref="TrainingRecipe.ByName"/>).</param>
    /// <param name="commit">Whether to also write the weights, checksum and manifest into <c>data/weights/</c>.</param>
    /// <param name="paths">Where CIFAR-10 is found.</param>
    /// <param name="log">Receives the training progress, the measurements and where the weights went.</param>
    /// <param name="commandLine">The command line, recorded in the manifest.</param>
    /// <param name="device">Where to train and measure (default: the CPU); the weights are written from the CPU either way.</param>
    /// <exception cref="ReproInputException">An unknown recipe.</exception>
    public static int Run(string recipeName, bool commit, ReproPaths paths, TextWriter log, string? commandLine = null, TorchSharp.torch.Device? device = null)
    {
        device ??= TorchSharp.torch.CPU;
        var recipe = TrainingRecipe.ByName(recipeName);

        var watch = Stopwatch.StartNew();
        using var trainOnCpu = Cifar10.Load(paths.DataRoot, Split.Train, Cifar10.CatVsAirplane);
        using var testOnCpu = Cifar10.Load(paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);
        string identity = DataIdentity.Of(trainOnCpu);
        using var train = new LabelledImages(DevicePlacement.To(trainOnCpu.Images, device, "training images"), trainOnCpu.Labels.to(device), trainOnCpu.ClassNames);
        using var test = new LabelledImages(testOnCpu.Images.to(device), testOnCpu.Labels.to(device), testOnCpu.ClassNames);
        string key = recipe.Key(identity);
        log.WriteLine($"recipe key {key} (data identity {identity[..16]}…)");
        var trainWatch = Stopwatch.StartNew();
        var model = Trainer.Train(recipe, train, test, log);
        var trainTime = trainWatch.Elapsed;

        var measured = RecipeFigures.Measure(model, test, log);

        var manifest = CifarModels.Manifest(recipe, key, identity, paths, trainTime, measured, commandLine) with { Device = ComputeDevice.Name(device) };
        var cache = ModelCache.Default();
        cache.Save(model, recipe, manifest);
        log.WriteLine($"cached as {cache.WeightsPath(recipe, key)}");
        if (commit)
        {
            string path = Path.Combine(CommittedWeights.RepositoryFolder, $"smallresnet-{recipe.Name}.pt");
            string sha = ModelCache.SaveWeights(model, path);
            AtomicFile.WriteAllText(path + ".sha256", $"{sha}  {Path.GetFileName(path)}\n");
            AtomicFile.WriteAllText(Path.ChangeExtension(path, ".json"), (manifest with { WeightsSha256 = sha }).ToJson() + "\n");
            log.WriteLine($"committed weights written: {path} (sha256 {sha})");
        }
        log.WriteLine($"done in {watch.Elapsed.TotalMinutes:F1} min");
        log.Flush();
        model.Dispose();
        return 0;
    }
}
