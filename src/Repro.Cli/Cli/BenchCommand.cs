using System.CommandLine;
using Repro.Bench;
using Repro.Models;
using Repro.Runtime;

namespace Repro.Cli;

/// <summary><c>repro bench</c>: the engine's cost against the model's own forward and backward passes (see README: benchmark).</summary>
internal static class BenchCommand
{
    public static Command Create(GlobalOptions options)
    {
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "batch size" };
        var leakSteps = new Option<int>("--leak-steps") { DefaultValueFactory = _ => 500, Description = "PGD steps for the memory-growth figure (0 to skip)" };
        var compare = new Option<string>("--compare")
        {
            DefaultValueFactory = _ => "as-shipped",
            Description = $"other {OneDnnConfiguration.Variable} values to time the same bare pass and PGD step under, in child processes, comma-separated (e.g. as-shipped,isa:AVX2,isa:AVX,no-mkldnn), or none",
        };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5, Description = "measurement rounds (each figure is the median over rounds)" };
        var serveRounds = new Option<bool>("--serve-rounds") { Hidden = true, Description = "child process of --compare: time one round per input line" };
        var model = new ModelOptions(required: false, defaultDescription: "ResNet18 with random weights");
        var precision = new Option<string>("--precision")
        {
            DefaultValueFactory = _ => "fp32",
            Description = "fp32, or a comma-separated list of fp32, bf16, fp16: with bf16 or fp16, time only the bare forward+input-backward and the PGD step in each precision against fp32, as ratios, interleaved in rounds",
        };
        var peer = new Option<string>("--peer")
        {
            Description = "a PyTorch peer script to time beside Repro (e.g. ../shared/tools/peer_pgd_bench.py): run after each round, in each --precision, with the same batch, " +
                          "threads and steps, by the interpreter its #! line names (else python3 on PATH); it must print 'bare X ms; pgd step (marginal) Y ms'. Only for the built-in ResNet18 on the CPU",
        };
        var command = new Command("bench", "benchmark PGD and SmoothGrad against bare forward+backward (ResNet18 with random weights, or --model, at its input size, on --device), and what the oneDNN configuration costs") { batch, leakSteps, compare, rounds, serveRounds, precision, peer };
        model.AddTo(command);
        command.SetAction(ReproCommand.Guarded(r =>
        {
            // The peer benches its own ResNet18 at 224x224 on the CPU: refused for anything else, before any model loads.
            if (r.GetValue(peer) is not null && r.GetValue(model.Model) is not null)
                throw new ReproInputException("--peer benches ResNet18 with random weights: it cannot be compared with --model");
            var device = options.Apply(r);
            CommandPolicy.Count("--rounds", r.GetValue(rounds), 1, 10_000);
            CommandPolicy.Count("--leak-steps", r.GetValue(leakSteps), 0, 1_000_000);
            CommandPolicy.Count("--batch", r.GetValue(batch), 1);
            if (r.GetValue(model.Model) is null) CommandPolicy.Batch("--batch", r.GetValue(batch), 3L * 224 * 224);
            var precisions = ParsePrecisions(r.GetValue(precision), device);
            if (r.GetValue(peer) is not null && device.type != TorchSharp.DeviceType.CPU)
                throw new ReproInputException($"--peer runs on the CPU: it cannot be compared with --device {ComputeDevice.Name(device)}");
            var peerRun = r.GetValue(peer) is { } script && !r.GetValue(serveRounds)
                ? PyTorchPeer.Check(script, r.GetValue(batch), TorchSharp.torch.get_num_threads(), AttackBenchmark.AttackSteps, Console.Out) : null;
            using var loaded = r.GetValue(model.Model) is null ? null : model.Load(r, options.Paths(r));
            if (loaded is not null && (loaded.Input.C != 3 || loaded.Input.H != loaded.Input.W))
                throw new ReproInputException($"--model: bench takes square RGB models; {loaded.Name} takes {loaded.Input.C}x{loaded.Input.H}x{loaded.Input.W}");
            var network = loaded?.Module ?? TorchvisionResNet.Create("resnet18");
            int side = (int)(loaded?.Input.H ?? 224);
            CommandPolicy.Batch("--batch", r.GetValue(batch), 3L * side * side);
            if (r.GetValue(serveRounds))
            {
                Runtime.GlibcMallocTuning.Apply(); // the parent's rounds run with the malloc settings
                new AttackBenchmark(network, r.GetValue(batch), side: side, device: device).ServeRounds(Console.In, Console.Out);
                return ReproCommand.Ok;
            }
            Console.WriteLine(OneDnnConfiguration.Summary);
            foreach (var line in loaded?.Describe() ?? []) Console.WriteLine(line);
            var check = ArithmeticSelfCheck.Ensure(network, loaded?.Name ?? "resnet18 (random weights)", [3, side, side]);
            Console.WriteLine($"arithmetic self-check: {check.Describe()}");
            if (precisions.Any(p => p != Attacks.AttackPrecision.Float32))
            {
                foreach (var p in precisions.Where(p => p != Attacks.AttackPrecision.Float32))
                    ArithmeticSelfCheck.Ensure(network, loaded?.Name ?? "resnet18 (random weights)", [3, side, side], Attacks.AttackPrecisions.DType(p));
                var compared = new AttackBenchmark(network, r.GetValue(batch), side: side, rounds: r.GetValue(rounds), log: Console.Out, device: device).RunPrecisions(precisions, peerRun is null ? null : peerRun.Round);
                Print([.. compared, .. peerRun?.Figures() ?? []], r.GetValue(batch));
                return ReproCommand.Ok;
            }
            // The comparison children bench the built-in ResNet18, so it runs only without --model.
            var others = loaded is null && device.type == TorchSharp.DeviceType.CPU && r.GetValue(compare) is { } list && list != "none"
                ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
            using var comparison = others.Length > 0 ? OneDnnComparison.Start(others, r.GetValue(batch), TorchSharp.torch.get_num_threads(), Console.Out) : null;
            Action<double, double>? eachRound = comparison is null && peerRun is null ? null : (bare, step) =>
            {
                comparison?.Round(bare, step);
                peerRun?.Round(new Dictionary<Attacks.AttackPrecision, (double, double)> { [Attacks.AttackPrecision.Float32] = (bare, step) });
            };
            var figures = new AttackBenchmark(network, r.GetValue(batch), side: side, rounds: r.GetValue(rounds), leakSteps: r.GetValue(leakSteps), log: Console.Out, device: device, eachRound: eachRound).Run().ToList();
            if (comparison is not null) figures.AddRange(comparison.Figures());
            if (peerRun is not null) figures.AddRange(peerRun.Figures());
            Print(figures, r.GetValue(batch));
            return ReproCommand.Ok;
        }));
        return command;
    }

    static void Print(IEnumerable<BenchFigure> figures, int batch)
    {
        Console.WriteLine($"{"figure",-58} {"value",10}  target");
        foreach (var f in figures)
            Console.WriteLine($"{f.Name,-58} {f.Value,9:F3}{f.Unit,-3} {f.Target,-14} {(f.Meets ? "ok" : "MISSED")}");
        Console.WriteLine($"({OneDnnConfiguration.Summary}; {TorchSharp.torch.get_num_threads()} threads, batch {batch}; load average {LoadAverage()})");
    }

    /// <summary>--precision: fp32, bf16, fp16, comma-separated; each refused where the device has no kernels for it.</summary>
    static List<Attacks.AttackPrecision> ParsePrecisions(string? text, TorchSharp.torch.Device device)
    {
        var list = new List<Attacks.AttackPrecision>();
        foreach (var name in (text ?? "fp32").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var p = name.ToLowerInvariant() switch
            {
                "fp32" => Attacks.AttackPrecision.Float32,
                "bf16" => Attacks.AttackPrecision.BFloat16,
                "fp16" => Attacks.AttackPrecision.Float16,
                _ => throw new ReproInputException($"--precision takes fp32, bf16 or fp16 (comma-separated), got '{name}'"),
            };
            if (!Attacks.AttackPrecisions.Supported(p, device, out var reason))
                throw new ReproInputException($"--precision {name}: {ComputeDevice.Name(device)} has no {name} kernels for the model's layers here ({reason})");
            list.Add(p);
        }
        if (list.Count == 0) throw new ReproInputException("--precision: give fp32, bf16 or fp16");
        return list;
    }

    static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
