using System.CommandLine;
using Repro.Data;
using Repro.Models;
using Repro.Report;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>repro eval --model NAME</c>: top-1 and top-5 on the ImageNet validation images of the data root.</summary>
public static class EvalCommand
{
    public static Command Create(GlobalOptions options)
    {
        var model = new Option<string>("--model") { Description = $"one of: {string.Join(", ", ModelRegistry.Names)}", Required = true };
        var batch = new Option<int>("--batch") { Description = "images per batch", DefaultValueFactory = _ => 32 };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "largest image, in pixels, decoded at full size; a larger JPEG is decoded at a reduced scale, anything else refused",
            DefaultValueFactory = _ => ImageDecodeOptions.DefaultMaxPixels,
        };
        var command = new Command("eval", "top-1/top-5 accuracy of an ImageNet model on the validation images (decoded as by 'repro attack': " +
                                          "a truncated or corrupt image stops the run with exit 2 naming it)") { model, batch, maxPixels };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            if (r.GetValue(batch) < 1) throw new ReproInputException($"--batch must be >= 1, got {r.GetValue(batch)}");
            var decode = new ImageDecodeOptions { MaxPixels = r.GetValue(maxPixels) };
            decode.Validate();
            var paths = options.Paths(r);
            options.FetchOnFirstUse(r);
            var entry = ModelRegistry.Get(r.GetValue(model)!);
            var network = entry.Load(paths.ModelRoot);
            network.to(device);
            var validation = ImageNetValidation.Open(paths.DataRoot);
            var progress = new ConsoleProgress($"eval {entry.Name}");
            var accuracy = ImageNetEvaluation.Evaluate(network, validation.Samples, r.GetValue(batch), (done, total) => progress.Report(done, total), decode);
            Console.WriteLine($"{entry.Name}: {accuracy} on {validation.Samples.Count} validation images under {paths.DataRoot}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
