using System.Diagnostics;
using Repro.Data;
using Repro.Runtime;

namespace Repro.Training;

/// <summary>
/// <c>train standard|robust [--commit] [--threads N]</c>: trains one of the claims' CIFAR models by its recipe, on the given device
/// (always, ignoring the caches), measures it on the whole cat/airplane test split (clean, and
/// untargeted L2 PGD at eps 1.25: step 0.5, 20 steps), stores it in the weight cache, and with
/// <c>--commit</c> writes <c>data/weights/smallresnet-{recipe}.pt</c>, its <c>.pt.sha256</c> and
/// its <c>.json</c> manifest (recipe, data identity, timings, measured numbers).
/// </summary>
internal static class TrainCommand
{
    /// <summary>Runs the command; returns the exit code 0.</summary>
    /// <param name="args">The arguments after <c>train</c>: the recipe name, then <c>--commit</c> and <c>--threads N</c>.</param>
    /// <param name="paths">Where CIFAR-10 is found.</param>
    /// <param name="log">Receives the training progress, the measurements and where the weights went.</param>
    /// <param name="commandLine">The command line, recorded in the manifest.</param>
    /// <param name="device">Where to train and measure (default: the CPU); the weights are written from the CPU either way.</param>
    /// <exception cref="ReproInputException">No recipe, an unknown recipe, or a bad <c>--threads</c> value.</exception>
    public static int Run(IReadOnlyList<string> args, ReproPaths paths, TextWriter log, string? commandLine = null, TorchSharp.torch.Device? device = null)
    {
        device ??= TorchSharp.torch.CPU;
        if (args.Count < 1) throw new ReproInputException("usage: train standard|robust [--commit] [--threads N]");
        var recipe = TrainingRecipe.ByName(args[0]);
        bool commit = args.Contains("--commit");
        int threads = 0;
        for (int i = 1; i < args.Count; i++)
            if (args[i] == "--threads" && (i + 1 >= args.Count || !int.TryParse(args[i + 1], out threads) || threads < 1))
                throw new ReproInputException("--threads needs a positive whole number");
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);

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
