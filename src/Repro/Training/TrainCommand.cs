using System.Diagnostics;
using Repro.Attacks;
using Repro.Data;

namespace Repro.Training;

/// <summary>
/// <c>train standard|robust [--commit] [--threads N]</c>: trains one of the claims' CIFAR models by its recipe
/// (always, ignoring the caches), measures it on the whole cat/airplane test split (clean, and
/// untargeted L2 PGD at eps 1.25: step 0.5, 20 steps), stores it in the weight cache, and with
/// <c>--commit</c> writes <c>data/weights/smallresnet-{recipe}.pt</c>, its <c>.pt.sha256</c> and
/// its <c>.json</c> manifest (recipe, data identity, timings, measured numbers).
/// </summary>
public static class TrainCommand
{
    public static int Run(IReadOnlyList<string> args, ReproPaths paths, TextWriter log, string? commandLine = null)
    {
        if (args.Count < 1) throw new ReproInputException("usage: train standard|robust [--commit] [--threads N]");
        var recipe = TrainingRecipe.ByName(args[0]);
        bool commit = args.Contains("--commit");
        int threads = 0;
        for (int i = 1; i < args.Count; i++)
            if (args[i] == "--threads" && (i + 1 >= args.Count || !int.TryParse(args[i + 1], out threads) || threads < 1))
                throw new ReproInputException("--threads needs a positive whole number");
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);

        var watch = Stopwatch.StartNew();
        using var train = Cifar10.Load(paths.DataRoot, Split.Train, Cifar10.CatVsAirplane);
        using var test = Cifar10.Load(paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);
        string identity = DataIdentity.Of(train);
        string key = recipe.Key(identity);
        log.WriteLine($"recipe key {key} (data identity {identity[..16]}…)");
        var trainWatch = Stopwatch.StartNew();
        var model = Trainer.Train(recipe, train, test, log);
        var trainTime = trainWatch.Elapsed;

        var measured = new Dictionary<string, double> { ["clean_test_accuracy"] = ModelEvaluation.Accuracy(model, test.Images, test.Labels) };
        log.WriteLine($"clean test accuracy ({test.Count} images): {measured["clean_test_accuracy"]:P2}");
        var evalWatch = Stopwatch.StartNew();
        using (var attack = AttackSummary.Run(model, test.Images, test.Labels, null, new L2Ball(1.25), new PgdOptions { StepSize = 0.5, Steps = 20 }))
        {
            measured["eps1.25_test_accuracy"] = attack.Accuracy;
            measured["eps1.25_minutes"] = Math.Round(evalWatch.Elapsed.TotalMinutes, 2);
            log.WriteLine($"eps 1.25 accuracy ({test.Count} images, L2 PGD step 0.5, 20 steps): {attack.Accuracy:P2} ({evalWatch.Elapsed.TotalMinutes:F1} min)");
        }
        log.Flush();

        var manifest = CifarModels.Manifest(recipe, key, identity, paths, trainTime, measured, commandLine);
        var cache = ModelCache.Default();
        cache.Save(model, recipe, manifest);
        log.WriteLine($"cached as {cache.WeightsPath(recipe, key)}");
        if (commit)
        {
            string path = CifarModels.CommittedPath(recipe);
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
