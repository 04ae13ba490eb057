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
        var command = new Command("eval", "top-1/top-5 accuracy of an ImageNet model on the validation images") { model, batch };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            if (r.GetValue(batch) < 1) throw new ReproInputException($"--batch must be >= 1, got {r.GetValue(batch)}");
            var paths = options.Paths(r);
            options.FetchOnFirstUse(r);
            var entry = ModelRegistry.Get(r.GetValue(model)!);
            var network = entry.Load(paths.ModelRoot);
            network.to(device);
            var validation = ImageNetValidation.Open(paths.DataRoot);
            var progress = new ConsoleProgress($"eval {entry.Name}");
            var accuracy = ImageNetEvaluation.Evaluate(network, validation.Samples, r.GetValue(batch), (done, total) => progress.Report(done, total));
            Console.WriteLine($"{entry.Name}: {accuracy} on {validation.Samples.Count} validation images under {paths.DataRoot}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
