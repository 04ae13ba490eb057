using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Repro.Attacks;
using Repro.Evaluation;
using Repro.Application.Jobs;
using Repro.Models.Formats;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary>
/// <c>repro robustness</c>: robust accuracy of a model under a list of attacks at several eps
/// (worst case per example, <see cref="RobustAccuracy"/>), with the sanity flags. The result is one
/// record per example, eps and attack (records.parquet, with manifest.json); the table, plot and report
/// (robustness.tsv, .png, .html) are computed from them. Runs one shard (--shard K/N, or Slurm's or
/// Kubernetes' index), resumable with the same --out; SIGTERM or SIGUSR1 stop it after the running
/// batch with <see cref="ExitCodes.Requeue"/>. <c>repro merge</c> joins the shards.
/// </summary>
internal static class RobustnessCommand
{
    /// <summary>The flag behind the output folder <see cref="RobustnessJob.Run"/> and <see cref="ShardMerge.Merge"/> name in their messages (<see cref="SettingFlags"/>).</summary>
    static readonly IReadOnlyDictionary<string, string> OutFlag = new Dictionary<string, string>(StringComparer.Ordinal) { ["output"] = "--out" };

    /// <summary>The evaluation images' settings (<see cref="EvaluationImages.List"/>) as this command's flags.</summary>
    static readonly IReadOnlyDictionary<string, string> ImageFlags = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["folder"] = "--images", ["split"] = "--split", ["resize"] = "--resize", ["n"] = "--n",
        ["ModelImportOptions.LabelsPath"] = "--labels", ["ImageResize.Fit"] = "--resize fit", ["ImageResize.None"] = "--resize none",
    };

    /// <summary>The attack catalogue's parameters (<see cref="AttackCatalog.Parse"/>, <see cref="AttackCatalog.Create"/>) as the flag that named the attacks.</summary>
    static Dictionary<string, string> CatalogFlags(string flag) => new(StringComparer.Ordinal) { ["list"] = flag, ["name"] = flag, ["classes"] = flag };

    /// <summary>The job's output folder and, as it loads the images batch by batch, their settings.</summary>
    static readonly IReadOnlyDictionary<string, string> JobFlags = OutFlag.Concat(ImageFlags).ToDictionary(StringComparer.Ordinal);

    public static Command Create(GlobalOptions options)
    {
        var model = new ModelOptions();
        var norm = new Option<string>("--norm") { Description = "threat model: l2 or linf", DefaultValueFactory = _ => "l2" };
        var eps = new Option<string>("--eps") { Description = "radii, comma-separated, in [0,1] pixel units (run in increasing order: an example fooled at a smaller eps is recorded fooled at the larger ones without another attack)", DefaultValueFactory = _ => "0.25,0.5,1,1.25" };
        var attacks = new Option<string?>("--attacks") { Description = $"comma-separated, run in this order (gradient-free ones last): {string.Join(", ", AttackCatalog.Known.Select(k => k.Name))}" };
        var preset = new Option<string?>("--preset") { Description = "standard: AutoAttack's standard version (APGD-CE, APGD-T / APGD-DLR / APGD-margin by class count, FAB-T, Square 5,000 queries), the default when --attacks is not given; plus: AutoAttack's plus version (APGD-CE and APGD-DLR with 5 restarts, FAB with 5 restarts, Square 5,000, APGD-T, FAB-T)" };
        var images = new Option<string?>("--images") { Description = "folder with one subfolder of images per class, named by the model's class names (or by --labels); the file policy of 'repro attack'" };
        var split = new Option<string?>("--split") { Description = "the model's own data: test or train (CIFAR), val (ImageNet); default test / val" };
        var n = new Option<int>("--n") { Description = "images (the first of each class in turn)", DefaultValueFactory = _ => 500 };
        var squareQueries = new Option<int?>("--square-queries") { Description = "Square's query budget (default 5,000, the published one)" };
        var batch = new Option<int>("--batch") { Description = "images per batch: memory, and the unit of commit for resuming", DefaultValueFactory = _ => 250 };
        var resize = new Option<string>("--resize") { Description = "how image files reach the model's input size: crop (torchvision's evaluation crop, the default), fit (resize, aspect not kept) or none (refuse other sizes); an image already at the input size is used as it is", DefaultValueFactory = _ => "crop" };
        var shard = new Option<string?>("--shard") { Description = "run shard K of N (0-based, K/N); default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX/REPRO_SHARD_COUNT, else 0/1. An example's shard depends on its id alone" };
        var command = new Command("robustness",
            "robust accuracy under APGD, Square, PGD (worst case per example) at several eps, with sanity flags; writes records.parquet and manifest.json " +
            "(one record per example, eps and attack), and robustness.{tsv,png,html} computed from them. Resumable with the same --out; " +
            $"SIGTERM or SIGUSR1 stop after the running batch with exit code {ExitCodes.Requeue} (requeue me)")
            { norm, eps, attacks, preset, images, split, n, squareQueries, batch, resize, shard };
        model.AddTo(command);
        var precision = new PrecisionOption();
        precision.AddTo(command);
        var screen = new Option<bool>("--screen-then-confirm") { Description = "with --precision bf16/fp16: run each attack in that precision first, then in fp32 on the examples it did not fool (never weaker than fp32 alone)" };
        command.Options.Add(screen);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var started = DateTimeOffset.Now;
            var device = options.Apply(r);
            var paths = options.Paths(r);
            var threatNorm = Norms.Parse(r.GetValue(norm) ?? "l2", "--norm");
            var radii = ParseEps(r.GetValue(eps)!);
            CommandPolicy.Count("--batch", r.GetValue(batch), 1);
            CommandPolicy.Count("--n", r.GetValue(n), 1);
            var searchPrecision = precision.Parse(r, device);
            if (r.GetValue(squareQueries) is < 0) throw new ReproInputException($"--square-queries must be >= 0, got {r.GetValue(squareQueries)}");
            string? list = r.GetValue(attacks), presetName = r.GetValue(preset);
            if (list is not null && presetName is not null) throw new ReproInputException("give --attacks or --preset, not both");
            if (presetName is not null && !AttackCatalog.Presets.Contains(presetName.ToLowerInvariant()))
                throw new ReproInputException($"--preset: unknown preset '{presetName}' (known: {string.Join(", ", AttackCatalog.Presets)})");
            if (list is not null) SettingFlags.Call(() => { AttackCatalog.CheckNames(list); return 0; }, CatalogFlags("--attacks"));
            var resizePolicy = r.GetValue(resize)?.ToLowerInvariant() switch
            {
                "crop" => ImageResize.Crop,
                "fit" => ImageResize.Fit,
                "none" => ImageResize.None,
                var other => throw new ReproInputException($"--resize must be crop, fit or none, got '{other}'"),
            };
            var (part, from) = r.GetValue(shard) is string s ? (Shard.Parse(s, "--shard"), "--shard")
                : Shard.FromEnvironment(Environment.GetEnvironmentVariable) ?? (Shard.Whole, "no --shard and no Slurm or Kubernetes index: the whole evaluation");
            // The output-folder policy (new or empty unless --overwrite), except that a folder holding this command's
            // committed batches or finished records is resumed: the job itself refuses another evaluation's.
            string? requested = r.GetValue(options.Out);
            bool resuming = !string.IsNullOrWhiteSpace(requested) && (Directory.Exists(Path.Combine(requested, RobustnessJob.PartsFolder)) || File.Exists(Path.Combine(requested, RobustnessManifest.FileName)));
            var (imageFolder, outputFolder) = CommandPolicy.Robustness(r.GetValue(images), requested, r.GetValue(options.Overwrite) || resuming, Console.Error);
            string output = outputFolder.Folder;

            using var loaded = model.Load(r, paths, Console.Out);
            loaded.Module.to(device);
            foreach (var line in loaded.Describe()) Console.WriteLine(line);
            PrecisionOption.Check(loaded.Module, loaded.Name, [loaded.Input.C, loaded.Input.H, loaded.Input.W], searchPrecision);
            var attackList = SettingFlags.Call(() => AttackCatalog.Parse(list ?? presetName ?? "standard", loaded.Classes.Count, r.GetValue(squareQueries)), CatalogFlags(list is null ? "--preset" : "--attacks"));
            var set = SettingFlags.Call(() => EvaluationImages.List(loaded, imageFolder, r.GetValue(split), r.GetValue(n), resizePolicy, paths), ImageFlags);
            var settings = new RobustnessSettings { Norm = threatNorm, Eps = radii, Attacks = attackList, Seed = r.GetValue(options.Seed), BatchSize = r.GetValue(batch), Precision = searchPrecision, ScreenThenConfirm = r.GetValue(screen) };
            var ordered = attackList.Where(a => !a.GradientFree).Concat(attackList.Where(a => a.GradientFree)).ToList();
            string resizeName = resizePolicy.ToString().ToLowerInvariant();
            var manifest = new RobustnessManifest
            {
                ReproVersion = new RunInfo(0, started, TimeSpan.Zero, "").ReproVersion,
                Model = new ManifestModel(loaded.Name, loaded.Format.ToString(), loaded.Format == ModelFormat.Registry ? null : Path.GetFullPath(r.GetValue(model.Model)!),
                    loaded.Format == ModelFormat.Registry ? null : RobustnessManifest.Sha256Of(r.GetValue(model.Model)!), $"{loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W}", loaded.Classes.Names),
                Data = new ManifestData(set.Description, set.Identity, set.Count, resizeName),
                Settings = new ManifestSettings(threatNorm.Name(), [.. settings.Eps.Order()], ordered.Select(a => new AttackInfo(a.Name, a.Budget, a.GradientFree)).ToList(), settings.Seed,
                    settings.BatchSize, settings.SanityExamples, settings.UnboundedExamples, settings.Precision.ShortName(), settings.ScreenThenConfirm),
                Shard = new ManifestShard(part.Index, part.Count, set.Examples.Count(e => part.Contains(e.Id, Shard.Batches(set.Count, settings.BatchSize))), from),
            };
            Console.WriteLine($"data: {set.Description} (--resize {resizeName})");
            Console.WriteLine($"shard {part} ({from}): {manifest.Shard.Examples} of {set.Count} examples; eps in increasing order: {string.Join(", ", manifest.Settings.Eps)}; batches of {settings.BatchSize} committed to {output}");

            int stop = 0;
            void RequestStop() => Interlocked.Exchange(ref stop, 1);
            using var usr1 = PosixSignalRegistration.Create((PosixSignal)10, c => { c.Cancel = true; RequestStop(); }); // SIGUSR1 on Linux: Slurm's warning signal
            ReproCommand.GracefulStop = RequestStop;
            try
            {
                var outcome = SettingFlags.Call(() => RobustnessJob.Run(loaded.Module, set, settings, manifest, device, output, () => Volatile.Read(ref stop) == 1,
                    new RunInfo(settings.Seed, started, TimeSpan.Zero, "repro " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1))), Console.Out,
                    TerminalProgress.For($"shard {part}")), JobFlags);
                if (!outcome.Complete)
                {
                    Console.WriteLine();
                    Console.Error.WriteLine($"repro: stopped on request after a committed batch: {outcome.Committed} examples committed, {outcome.Remaining} to go; run the same command again to resume (exit {ExitCodes.Requeue}: requeue me)");
                    return ExitCodes.Requeue;
                }
                Console.WriteLine();
                if (outcome.Result is { } result) foreach (var line in RobustnessTable.Lines(result)) Console.WriteLine(line);
                Console.WriteLine($"wrote {Path.Combine(output, RobustnessManifest.RecordsName)}, {RobustnessManifest.FileName}" +
                                  (outcome.Result is null ? "" : $", {RobustnessReport.Table}, {RobustnessReport.Plot} and {RobustnessReport.Html}"));
                return ReproCommand.Ok;
            }
            finally { ReproCommand.GracefulStop = null; }
        }));
        return command;
    }

    /// <summary><c>repro merge --out DIR SHARD_DIR...</c>: joins the shards of one evaluation (<see cref="ShardMerge"/>).</summary>
    public static Command CreateMerge(GlobalOptions options)
    {
        var shards = new Argument<string[]>("shards") { Description = "the output folders of every shard of one robustness evaluation", Arity = ArgumentArity.OneOrMore };
        var command = new Command("merge",
            "join the shards of a robustness evaluation into the output of a one-machine run (records.parquet, manifest.json, robustness.{tsv,png,html}); " +
            "refuses shards that do not belong together, a missing or repeated shard or example, or a file whose checksum differs — one line, exit 2, nothing written")
            { shards };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var started = DateTimeOffset.Now;
            string output = Path.GetFullPath(r.GetValue(options.Out)!);
            var result = SettingFlags.Call(() => ShardMerge.Merge(r.GetValue(shards)!, output,
                new RunInfo(r.GetValue(options.Seed), started, TimeSpan.Zero, "repro " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)))), OutFlag);
            foreach (var line in RobustnessTable.Lines(result)) Console.WriteLine(line);
            Console.WriteLine($"merged {r.GetValue(shards)!.Length} shards into {output}");
            return ReproCommand.Ok;
        }));
        return command;
    }

    static List<double> ParseEps(string text)
    {
        var values = CommandPolicy.Float32List("--eps", text, "0.25,0.5,1,1.25");
        foreach (double v in values)
            if (!(v > 0) || double.IsInfinity(v)) throw new ReproInputException($"--eps: '{v}' is not a number > 0 (give radii like 0.25,0.5,1,1.25)");
        if (values.Distinct().Count() != values.Count) throw new ReproInputException($"--eps: a radius is given twice ({text})");
        return values;
    }
}
