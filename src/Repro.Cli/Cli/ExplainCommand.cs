using System.CommandLine;
using Repro.Application;
using Repro.Data;
using Repro.Explain;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>repro explain</c>: vanilla gradient, SmoothGrad and feature visualisation of your own images; writes PNGs, explain.png and explain.tsv.</summary>
internal static class ExplainCommand
{
    /// <summary>The flags behind the settings <see cref="FolderExplanation.Run"/> names in its messages (<see cref="SettingFlags"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> Flags = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["output"] = "--out", ["imageFolder"] = "--images", ["options.Target"] = "--target", ["options.Component"] = "--component",
        ["options.Kinds"] = "--method", [nameof(ExplanationKinds.Gradient)] = "gradient", [nameof(ExplanationKinds.SmoothGrad)] = "smoothgrad",
    };

    /// <summary>Bounds of --samples and --steps: each is work per image, and more than this is a typo, not a setting.</summary>
    const int MaxSamples = 100_000, MaxSteps = 1_000_000;

    public static Command Create(GlobalOptions options)
    {
        var model = new ModelOptions();
        var images = new Option<string>("--images")
        {
            Description = "folder of images to explain (top level only; dot-files, OS metadata such as ._* and __MACOSX/, and other files are skipped and listed)",
            Required = true,
        };
        var method = new Option<string>("--method") { Description = "gradient, smoothgrad, featviz, or all", DefaultValueFactory = _ => "all" };
        var target = new Option<string?>("--target") { Description = "class whose logit the gradients explain (name or index; default: each image's prediction)" };
        var samples = new Option<int>("--samples") { Description = "SmoothGrad: noisy copies per image", DefaultValueFactory = _ => 50 };
        var sigma = new Option<string>("--sigma") { Description = "SmoothGrad: noise standard deviation in [0,1] pixel units (>= 0)", DefaultValueFactory = _ => "0.15" };
        var component = new Option<int?>("--component") { Description = "feature visualisation: the representation component to maximise (default: each image's most active)" };
        var steps = new Option<int>("--steps") { Description = "feature visualisation: L2 PGD steps (eps 1000, as the article)", DefaultValueFactory = _ => 20 };
        var stepSize = new Option<string>("--step-size") { Description = "feature visualisation: L2 step length", DefaultValueFactory = _ => "5" };
        var command = new Command("explain", "explain an image classifier's decisions on your own images: vanilla gradient, SmoothGrad, feature visualisation. " +
                                             "Each output keeps the input's whole name (NAME.EXT.gradient.png, NAME.EXT.smoothgrad.png, NAME.EXT.feature-K.png); " +
                                             "explain.tsv is tab-separated with tab, newline and backslash in names escaped as \\t, \\n, \\\\")
            { images, method, target, samples, sigma, component, steps, stepSize };
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
            int sampleCount = CommandPolicy.Count("--samples", r.GetValue(samples), 1, MaxSamples);
            double noise = CommandPolicy.Float32("--sigma", r.GetValue(sigma), allowZero: true);
            int stepCount = CommandPolicy.Count("--steps", r.GetValue(steps), 1, MaxSteps);
            double step = CommandPolicy.Float32("--step-size", r.GetValue(stepSize));
            if (r.GetValue(component) is < 0) throw new ReproInputException($"--component must be >= 0, got {r.GetValue(component)}");
            string imageFolder = CommandPolicy.ImageFolderArgument("--images", r.GetValue(images));
            var output = options.Output(r, FolderExplanation.IsOwnResult, ("--images", imageFolder));
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
                Samples = sampleCount, Sigma = noise,
                Component = r.GetValue(component), Steps = stepCount, StepSize = step,
                Seed = r.GetValue(options.Seed), Precision = searchPrecision,
            };
            var rows = SettingFlags.Call(() => FolderExplanation.Run(network, loaded.Classes.Names, imageFolder, (int)loaded.Input.H, settings, output, TerminalProgress.For("explain"),
                skipped => Console.Error.WriteLine($"repro: {ImageFolder.Summary(skipped)}")), Flags);
            Console.WriteLine("file\tpredicted\texplained\tcomponent");
            foreach (var row in rows)
                Console.WriteLine($"{Tsv.Escape(row.File)}\t{Tsv.Escape(row.Predicted)} {row.Confidence * 100:F1}%\t{Tsv.Escape(row.Explained)}\t{(row.Component is int c ? $"#{c}: {row.ComponentBefore:F2} -> {row.ComponentAfter:F2}" : "-")}");
            Console.WriteLine($"explanations (PNG), {FolderExplanation.Grid} and {FolderExplanation.Table} written to {output.Folder}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
