using System.CommandLine;
using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>repro attack</c>: PGD on your own images; writes adversarial PNGs and attack.tsv.</summary>
public static class AttackCommand
{
    public static Command Create(GlobalOptions options)
    {
        var model = new ModelOptions();
        var images = new Option<string>("--images") { Description = "folder of images to attack", Required = true };
        var target = new Option<string?>("--target") { Description = "target class (name, wnid or index); omit for an untargeted attack" };
        var eps = new Option<double>("--eps") { Description = "radius of the threat model", DefaultValueFactory = _ => 1.25 };
        var steps = new Option<int>("--steps") { Description = "PGD steps", DefaultValueFactory = _ => 20 };
        var stepSize = new Option<double>("--step-size") { Description = "step length", DefaultValueFactory = _ => 0.5 };
        var norm = new Option<string>("--norm") { Description = "l2 or linf", DefaultValueFactory = _ => "l2" };
        var randomStart = new Option<bool>("--random-start") { Description = "start from a random point of the ball" };
        var command = new Command("attack", "attack your own images with PGD against an image classifier (built in, or your TFLite, ONNX or TorchScript file)") { images, target, eps, steps, stepSize, norm, randomStart };
        model.AddTo(command);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            var paths = options.Paths(r);
            ThreatModel threat = r.GetValue(norm)?.ToLowerInvariant() switch
            {
                "l2" => new L2Ball(r.GetValue(eps)),
                "linf" => new LinfBall(r.GetValue(eps)),
                var other => throw new ReproInputException($"--norm must be l2 or linf, got '{other}'"),
            };
            var pgd = new PgdOptions { Steps = r.GetValue(steps), StepSize = r.GetValue(stepSize), RandomStart = r.GetValue(randomStart), Seed = r.GetValue(options.Seed) };
            pgd.Validate();
            using var loaded = model.Load(r, paths);
            var classes = loaded.Classes;
            int? targetClass = r.GetValue(target) is string t ? classes.Resolve(t) : null;
            if (loaded.Input.C != 3 || loaded.Input.H != loaded.Input.W)
                throw new ReproInputException($"--model: attack takes square RGB models; {loaded.Name} takes {loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W}");
            var network = loaded.Module;
            network.to(device);
            foreach (var line in loaded.Describe()) Console.WriteLine(line);
            string output = Path.GetFullPath(r.GetValue(options.Out)!);
            var progress = new ConsoleProgress("attack");
            var rows = FolderAttack.Run(network, classes.Names, r.GetValue(images)!, targetClass, threat, pgd, output, progress: (d, n) => progress.Report(d, n), imageSize: loaded.Input.H);
            Console.WriteLine("file\toriginal\tadversarial\tL2\tLinf\tPSNR");
            foreach (var row in rows)
                Console.WriteLine($"{row.File}\t{row.Original} {row.OriginalConfidence * 100:F1}%\t{row.Adversarial} {row.AdversarialConfidence * 100:F1}%\t{row.L2:F3}\t{row.Linf:F3}\t{row.Psnr:F1} dB");
            int succeeded = rows.Count(row => targetClass is int c ? row.Adversarial == classes.Names[c] : row.Adversarial != row.Original);
            Console.WriteLine($"success rate: {succeeded}/{rows.Count} ({100.0 * succeeded / Math.Max(1, rows.Count):F1}%) {(targetClass is int goal ? $"classified as '{classes.Names[goal]}'" : "moved off the clean prediction")}");
            Console.WriteLine($"adversarial images and attack.tsv written to {output}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
