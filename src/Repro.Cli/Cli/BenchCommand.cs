using System.CommandLine;
using Repro.Bench;
using Repro.Models;

namespace Repro.Cli;

/// <summary><c>repro bench</c>: the engine's cost against the model's own forward and backward passes (see README: benchmark).</summary>
public static class BenchCommand
{
    public static Command Create(GlobalOptions options)
    {
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "batch size" };
        var leakSteps = new Option<int>("--leak-steps") { DefaultValueFactory = _ => 500, Description = "PGD steps for the memory-growth figure (0 to skip)" };
        var command = new Command("bench", "benchmark PGD and SmoothGrad against bare forward+backward (ResNet18, random weights, 224x224, on --device)") { batch, leakSteps };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            var model = TorchvisionResNet.Create("resnet18");
            var figures = new AttackBenchmark(model, r.GetValue(batch), leakSteps: r.GetValue(leakSteps), log: Console.Out, device: device).Run();
            Console.WriteLine($"{"figure",-58} {"value",10}  target");
            foreach (var f in figures)
                Console.WriteLine($"{f.Name,-58} {f.Value,9:F3}{f.Unit,-3} {f.Target,-14} {(f.Meets ? "ok" : "MISSED")}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
