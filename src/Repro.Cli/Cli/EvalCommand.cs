using System.CommandLine;
using Repro.Data;
using Repro.Models;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>repro eval --model NAME</c>: top-1 and top-5 on the ImageNet validation images of the data root.</summary>
internal static class EvalCommand
{
    public static Command Create(GlobalOptions options)
    {
        var model = new ModelOptions();
        var batch = new Option<int>("--batch") { Description = "images per batch", DefaultValueFactory = _ => 32 };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "largest image, in pixels, decoded at full size; a larger JPEG is decoded at a reduced scale, anything else refused",
            DefaultValueFactory = _ => ImageDecodeOptions.DefaultMaxPixels,
        };
        var command = new Command("eval", "top-1/top-5 accuracy of an ImageNet model (built in, or your TFLite, ONNX or TorchScript file) on the validation images (decoded as by 'repro attack': " +
                                          "a truncated or corrupt image stops the run with exit 2 naming it)") { batch, maxPixels };
        model.AddTo(command);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            CommandPolicy.Count("--batch", r.GetValue(batch), 1);
            var decode = new ImageDecodeOptions { MaxPixels = r.GetValue(maxPixels) };
            decode.Validate("--max-pixels");
            var paths = options.Paths(r);
            options.FetchOnFirstUse(r);
            using var loaded = model.Load(r, paths);
            if (loaded.Classes.Count != 1000 || loaded.Input.C != 3 || loaded.Input.H != loaded.Input.W)
                throw new ReproInputException($"--model: eval measures ImageNet-1k accuracy; {loaded.Name} has {loaded.Classes.Count} classes and takes {loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W} images");
            CommandPolicy.Batch("--batch", r.GetValue(batch), 3L * loaded.Input.H * loaded.Input.W);
            var network = loaded.Module;
            network.to(device);
            foreach (var line in loaded.Describe()) Console.WriteLine(line);
            var validation = ImageNetValidation.Open(paths.DataRoot);
            var progress = TerminalProgress.For($"eval {Path.GetFileName(loaded.Name)}");
            var accuracy = SettingFlags.Call(() => ImageNetEvaluation.Evaluate(network, validation.Samples, r.GetValue(batch), (done, total) => progress(done, total), decode, (int)loaded.Input.H),
                new Dictionary<string, string> { [nameof(ImageDecodeOptions.MaxPixels)] = "--max-pixels" });
            Console.WriteLine($"{loaded.Name}: {accuracy} on {validation.Samples.Count} validation images under {paths.DataRoot}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
