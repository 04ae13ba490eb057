using System.CommandLine;
using Repro.Application;
using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>repro attack</c>: PGD on your own images; writes adversarial PNGs and attack.tsv.</summary>
internal static class AttackCommand
{
    /// <summary>The flags behind the settings <see cref="FolderAttack.Run"/> names in its messages (<see cref="SettingFlags"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> Flags = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["outputFolder"] = "--out", ["imageFolder"] = "--images", ["settings.Overwrite"] = "--overwrite", ["target"] = "--target",
        ["settings.Decode.MaxPixels"] = "--max-pixels", [nameof(ImageDecodeOptions.MaxPixels)] = "--max-pixels",
    };

    public static Command Create(GlobalOptions options)
    {
        var model = new ModelOptions();
        var images = new Option<string>("--images")
        {
            Description = "folder of images to attack (JPEG, PNG, BMP, WebP, GIF; top level only). EXIF orientation is applied; transparent " +
                          "pixels are composited on white; dot-files and OS metadata (._*, .DS_Store, Thumbs.db, desktop.ini, __MACOSX/) and " +
                          "other files are skipped and listed; a truncated or corrupt image stops the run (exit 2) unless --skip-bad",
            Required = true,
        };
        var target = new Option<string?>("--target") { Description = "target class (name, wnid or index); omit for an untargeted attack" };
        var eps = new Option<string>("--eps") { Description = "radius of the threat model in [0,1] pixel units, or inf for no bound (only the [0,1] range)", DefaultValueFactory = _ => "1.25" };
        var steps = new Option<int>("--steps") { Description = "PGD steps", DefaultValueFactory = _ => 20 };
        var stepSize = new Option<string>("--step-size") { Description = "step length in [0,1] pixel units (L2 length, or per-pixel change for linf)", DefaultValueFactory = _ => "0.5" };
        var norm = new Option<string>("--norm") { Description = "l2 or linf", DefaultValueFactory = _ => "l2" };
        var randomStart = new Option<bool>("--random-start") { Description = "start from a random point of the ball" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "skip images that cannot be decoded (truncated, corrupt, over --max-pixels) and list them, instead of stopping" };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "largest image, in pixels, decoded at full size; a larger JPEG is decoded at a reduced scale, anything else refused",
            DefaultValueFactory = _ => ImageDecodeOptions.DefaultMaxPixels,
        };
        var command = new Command("attack",
            "attack your own images with PGD against an image classifier (built in, or your TFLite, ONNX or TorchScript file). Each image gets " +
            "torchvision's evaluation crop (shorter side 256/224 of the model's input size, centre crop of that size, 224 for the built-in models); the adversarial crop is written as NAME.EXT.adv.png, rounded to 8 bits inside the budget, and every number in " +
            "attack.tsv (tab-separated; tab, newline and backslash in names escaped as \\t, \\n, \\\\) is measured on the written PNG")
        {
            images, target, eps, steps, stepSize, norm, randomStart, skipBad, maxPixels,
        };
        model.AddTo(command);
        var precision = new PrecisionOption();
        precision.AddTo(command);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            var paths = options.Paths(r);
            options.FetchOnFirstUse(r);
            double radius = CommandPolicy.Float32("--eps", r.GetValue(eps), allowInfinity: true);
            double step = CommandPolicy.Float32("--step-size", r.GetValue(stepSize));
            CommandPolicy.Count("--steps", r.GetValue(steps), 1);
            bool unbounded = double.IsPositiveInfinity(radius);
            var threatNorm = Norms.Parse(r.GetValue(norm), "--norm");
            ThreatModel threat = unbounded ? new Unconstrained(signSteps: threatNorm == Norm.Linf) : threatNorm.Ball(radius);
            var pgd = new PgdOptions { Steps = r.GetValue(steps), StepSize = step, RandomStart = r.GetValue(randomStart) };
            var run = new AttackRun(r.GetValue(options.Seed), Progress: TerminalProgress.For("attack"), Precision: precision.Parse(r, device));
            pgd.Validate();
            var settings = new FolderAttackSettings
            {
                Decode = new ImageDecodeOptions { MaxPixels = r.GetValue(maxPixels) },
                SkipBad = r.GetValue(skipBad),
                Overwrite = r.GetValue(options.Overwrite),
            };
            settings.Decode.Validate("--max-pixels");
            string imageFolder = CommandPolicy.ImageFolderArgument("--images", r.GetValue(images));
            string output = options.Output(r, FolderAttack.IsOwnResult, ("--images", imageFolder)).Folder;
            using var loaded = model.Load(r, paths);
            var classes = loaded.Classes;
            int? targetClass = r.GetValue(target) is string t ? classes.Resolve(t) : null;
            if (loaded.Input.C != 3 || loaded.Input.H != loaded.Input.W)
                throw new ReproInputException($"--model: attack takes square RGB models; {loaded.Name} takes {loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W}");
            settings = settings with { ImageSize = loaded.Input.H };
            var network = loaded.Module;
            network.to(device);
            PrecisionOption.Check(network, loaded.Name, [3, loaded.Input.H, loaded.Input.W], run.Precision);
            foreach (var line in loaded.Describe()) Console.WriteLine(line);
            Console.WriteLine(unbounded
                ? $"threat model: unconstrained (--eps inf): no budget, only the [0,1] pixel range bounds the change ({(threat is Unconstrained { SignSteps: true } ? "sign" : "L2-normalised")} steps of {step})"
                : $"threat model: {threat.Name} ball, eps {radius} (written PNGs: rounded to 8 bits inside it)");
            var report = SettingFlags.Call(() => FolderAttack.Run(network, classes.Names, imageFolder, targetClass, threat, run, pgd, output, settings), Flags);
            if (report.Skipped.Count > 0) Console.Error.WriteLine($"repro: {ImageFolder.Summary(report.Skipped)}");
            foreach (var note in report.Notes) Console.Error.WriteLine($"repro: note: {SettingFlags.Rename(note, Flags)}");
            Console.WriteLine("file\toriginal\tadversarial\tsuccess\tL2\tLinf\tPSNR");
            foreach (var row in report.Rows)
                Console.WriteLine($"{Tsv.Escape(row.File)}\t{row.Original} {row.OriginalConfidence * 100:F1}%\t{row.Adversarial} {row.AdversarialConfidence * 100:F1}%\t" +
                                  $"{(row.Success ? "yes" : "no")}\t{row.L2:F4}\t{row.Linf:F4}\t{(double.IsPositiveInfinity(row.Psnr) ? "inf" : $"{row.Psnr:F1} dB")}");
            int succeeded = report.Rows.Count(row => row.Success);
            Console.WriteLine($"success rate: {succeeded}/{report.Rows.Count} ({100.0 * succeeded / Math.Max(1, report.Rows.Count):F1}%) of the written images " +
                              $"{(targetClass is int goal ? $"classified as '{classes.Names[goal]}'" : "moved off the clean prediction")}; adversarial images and {FolderAttack.Table} written to {report.OutputFolder}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
