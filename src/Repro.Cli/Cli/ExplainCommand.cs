using System.CommandLine;
using Repro.Explain;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>repro explain</c>: vanilla gradient, SmoothGrad and feature visualisation of your own images; writes PNGs, explain.png and explain.tsv.</summary>
internal static class ExplainCommand
{
    public static Command Create(GlobalOptions options)
    {
        var model = new ModelOptions();
        var images = new Option<string>("--images") { Description = "folder of images to explain", Required = true };
        var method = new Option<string>("--method") { Description = "gradient, smoothgrad, featviz, or all", DefaultValueFactory = _ => "all" };
        var target = new Option<string?>("--target") { Description = "class whose logit the gradients explain (name or index; default: each image's prediction)" };
        var samples = new Option<int>("--samples") { Description = "SmoothGrad: noisy copies per image", DefaultValueFactory = _ => 50 };
        var sigma = new Option<double>("--sigma") { Description = "SmoothGrad: noise standard deviation in [0,1] pixel units", DefaultValueFactory = _ => 0.15 };
        var component = new Option<int?>("--component") { Description = "feature visualisation: the representation component to maximise (default: each image's most active)" };
        var steps = new Option<int>("--steps") { Description = "feature visualisation: L2 PGD steps (eps 1000, as the article)", DefaultValueFactory = _ => 20 };
        var stepSize = new Option<double>("--step-size") { Description = "feature visualisation: L2 step length", DefaultValueFactory = _ => 5 };
        var command = new Command("explain", "explain an image classifier's decisions on your own images: vanilla gradient, SmoothGrad, feature visualisation") { images, method, target, samples, sigma, component, steps, stepSize };
        model.AddTo(command);
        var precision = new PrecisionOption();
        precision.AddTo(command);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            var paths = options.Paths(r);
            var kinds = r.GetValue(method)?.ToLowerInvariant() switch
            {
                "gradient" => ExplanationKinds.Gradient,
                "smoothgrad" => ExplanationKinds.SmoothGrad,
                "featviz" => ExplanationKinds.FeatureVisualisation,
                "all" => ExplanationKinds.All,
                var other => throw new ReproInputException($"--method must be gradient, smoothgrad, featviz or all, got '{other}'"),
            };
            if (r.GetValue(samples) < 1) throw new ReproInputException($"--samples must be >= 1, got {r.GetValue(samples)}");
            if (!(r.GetValue(sigma) >= 0)) throw new ReproInputException($"--sigma must be >= 0, got {r.GetValue(sigma)}");
            if (r.GetValue(steps) < 1) throw new ReproInputException($"--steps must be >= 1, got {r.GetValue(steps)}");
            if (!(r.GetValue(stepSize) > 0)) throw new ReproInputException($"--step-size must be > 0, got {r.GetValue(stepSize)}");
            var searchPrecision = precision.Parse(r, device);
            using var loaded = model.Load(r, paths);
            if (loaded.Input.C != 3 || loaded.Input.H != loaded.Input.W)
                throw new ReproInputException($"--model: explain takes square RGB models; {loaded.Name} takes {loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W}");
            var network = loaded.Module;
            network.to(device);
            PrecisionOption.Check(network, loaded.Name, [3, loaded.Input.H, loaded.Input.W], searchPrecision);
            foreach (var line in loaded.Describe()) Console.WriteLine(line);
            var settings = new ExplanationOptions
            {
                Kinds = kinds,
                Target = r.GetValue(target) is string t ? loaded.Classes.Resolve(t) : null,
                Samples = r.GetValue(samples), Sigma = r.GetValue(sigma),
                Component = r.GetValue(component), Steps = r.GetValue(steps), StepSize = r.GetValue(stepSize),
                Seed = r.GetValue(options.Seed), Precision = searchPrecision,
            };
            string output = Path.GetFullPath(r.GetValue(options.Out)!);
            var progress = new ConsoleProgress("explain");
            var rows = FolderExplanation.Run(network, loaded.Classes.Names, r.GetValue(images)!, loaded.Input.H, settings, output, (d, n) => progress.Report(d, n));
            Console.WriteLine("file\tpredicted\texplained\tcomponent");
            foreach (var row in rows)
                Console.WriteLine($"{row.File}\t{row.Predicted} {row.Confidence * 100:F1}%\t{row.Explained}\t{(row.Component is int c ? $"#{c}: {row.ComponentBefore:F2} -> {row.ComponentAfter:F2}" : "-")}");
            Console.WriteLine($"explanations (PNG), explain.png and explain.tsv written to {output}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
