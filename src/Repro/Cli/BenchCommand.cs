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
        var model = new ModelOptions(required: false, defaultDescription: "ResNet18 with random weights");
        var command = new Command("bench", "benchmark PGD and SmoothGrad against bare forward+backward (ResNet18 with random weights, or --model, at its input size, on --device)") { batch, leakSteps };
        model.AddTo(command);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            using var loaded = r.GetValue(model.Model) is null ? null : model.Load(r, options.Paths(r));
            if (loaded is not null && (loaded.Input.C != 3 || loaded.Input.H != loaded.Input.W))
                throw new ReproInputException($"--model: bench takes square RGB models; {loaded.Name} takes {loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W}");
            foreach (var line in loaded?.Describe() ?? []) Console.WriteLine(line);
            var network = loaded?.Module ?? TorchvisionResNet.Create("resnet18");
            var figures = new AttackBenchmark(network, r.GetValue(batch), side: loaded?.Input.H ?? 224, leakSteps: r.GetValue(leakSteps), log: Console.Out, device: device).Run();
            Console.WriteLine($"{"figure",-58} {"value",10}  target");
            foreach (var f in figures)
                Console.WriteLine($"{f.Name,-58} {f.Value,9:F3}{f.Unit,-3} {f.Target,-14} {(f.Meets ? "ok" : "MISSED")}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
