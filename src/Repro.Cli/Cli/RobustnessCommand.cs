using System.CommandLine;
using System.Globalization;
using Repro.Evaluation;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary>
/// <c>repro robustness</c>: robust accuracy of a model under a list of attacks at several eps
/// (worst case per example, <see cref="RobustAccuracy"/>), with the sanity flags; prints the table
/// and writes robustness.tsv, robustness.png and robustness.html into --out.
/// </summary>
internal static class RobustnessCommand
{
    public static Command Create(GlobalOptions options)
    {
        var model = new Option<string>("--model") { Description = $"cifar-standard, cifar-robust (the committed CIFAR-10 cat-vs-airplane models), an ImageNet model ({string.Join(", ", Models.ModelRegistry.Names)}) or a model file", Required = true };
        var norm = new Option<string>("--norm") { Description = "threat model: l2 or linf", DefaultValueFactory = _ => "l2" };
        var eps = new Option<string>("--eps") { Description = "radii, comma-separated, in [0,1] pixel units", DefaultValueFactory = _ => "0.25,0.5,1,1.25" };
        var attacks = new Option<string?>("--attacks") { Description = $"comma-separated, run in this order (gradient-free ones last): {string.Join(", ", AttackCatalog.Known.Select(k => k.Name))}" };
        var preset = new Option<string?>("--preset") { Description = "standard: AutoAttack's standard attacks (APGD-CE, APGD-T / APGD-DLR / APGD-margin by class count, Square 5,000 queries); the default when --attacks is not given" };
        var images = new Option<string?>("--images") { Description = "folder with one subfolder of images per class (named by the model's class names)" };
        var split = new Option<string?>("--split") { Description = "the model's own data: test or train (CIFAR), val (ImageNet); default test / val" };
        var n = new Option<int>("--n") { Description = "images (the first of each class in turn)", DefaultValueFactory = _ => 500 };
        var squareQueries = new Option<int?>("--square-queries") { Description = "Square's query budget (default 5,000, the published one)" };
        var batch = new Option<int>("--batch") { Description = "images per attack call (memory only)", DefaultValueFactory = _ => 250 };
        var command = new Command("robustness", "robust accuracy under APGD, Square, PGD (worst case per example) at several eps, with sanity flags; writes robustness.{tsv,png,html}")
            { model, norm, eps, attacks, preset, images, split, n, squareQueries, batch };
        var precision = new PrecisionOption();
        precision.AddTo(command);
        var screen = new Option<bool>("--screen-then-confirm") { Description = "with --precision bf16/fp16: run each attack in that precision first, then in fp32 on the examples it did not fool (never weaker than fp32 alone)" };
        command.Options.Add(screen);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var started = DateTimeOffset.Now;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var device = options.Apply(r);
            var paths = options.Paths(r);
            string normName = (r.GetValue(norm) ?? "l2").ToLowerInvariant();
            if (normName != "l2" && normName != "linf") throw new ReproInputException($"--norm must be l2 or linf, got '{r.GetValue(norm)}'");
            var radii = ParseEps(r.GetValue(eps)!);
            var searchPrecision = precision.Parse(r, device);
            if (r.GetValue(batch) < 1) throw new ReproInputException($"--batch must be >= 1, got {r.GetValue(batch)}");
            if (r.GetValue(squareQueries) is < 0) throw new ReproInputException($"--square-queries must be >= 0, got {r.GetValue(squareQueries)}");
            string? list = r.GetValue(attacks), presetName = r.GetValue(preset);
            if (list is not null && presetName is not null) throw new ReproInputException("give --attacks or --preset, not both");
            if (presetName is not null && !AttackCatalog.Presets.Contains(presetName.ToLowerInvariant()))
                throw new ReproInputException($"--preset: unknown preset '{presetName}' (known: {string.Join(", ", AttackCatalog.Presets)})");

            var evaluated = EvaluatedModels.Resolve(r.GetValue(model)!, paths, Console.Out);
            evaluated.Network.to(device);
            var attackList = AttackCatalog.Parse(list ?? presetName ?? "standard", evaluated.ClassNames.Count, r.GetValue(squareQueries));
            using var set = EvaluationImages.Load(evaluated, r.GetValue(images), r.GetValue(split), r.GetValue(n), paths);
            var x = set.Images.to(device);
            var y = set.Labels.to(device);
            PrecisionOption.Check(evaluated.Network, evaluated.Name, x.shape[1..], searchPrecision);
            Console.WriteLine($"{evaluated.Name} on {set.Description}");
            ConsoleProgress? progress = null;
            string? stage = null;
            var result = RobustAccuracy.Evaluate(evaluated.Name, evaluated.Network, x, y, set.Ids,
                new RobustnessSettings { Norm = normName, Eps = radii, Attacks = attackList, Seed = r.GetValue(options.Seed), BatchSize = r.GetValue(batch), Precision = searchPrecision, ScreenThenConfirm = r.GetValue(screen) },
                Console.Out, (what, done, total) =>
                {
                    if (what != stage) (stage, progress) = (what, new ConsoleProgress(what));
                    progress!.Report(done, total);
                });
            Console.WriteLine();
            foreach (var line in RobustnessTable.Lines(result)) Console.WriteLine(line);
            string output = Path.GetFullPath(r.GetValue(options.Out)!);
            RobustnessReport.Write(result, new RunInfo(r.GetValue(options.Seed), started, clock.Elapsed, "repro " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1))), output);
            Console.WriteLine($"wrote {Path.Combine(output, RobustnessReport.Table)}, {RobustnessReport.Plot} and {RobustnessReport.Html}");
            return ReproCommand.Ok;
        }));
        return command;
    }

    static List<double> ParseEps(string text)
    {
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || double.IsInfinity(v))
                throw new ReproInputException($"--eps: '{part}' is not a number > 0 (give radii like 0.25,0.5,1,1.25)");
            values.Add(v);
        }
        if (values.Count == 0) throw new ReproInputException("--eps: no radius given");
        return values;
    }
}
