using System.CommandLine;
using Repro.Models;
using Repro.Runtime;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Cli;

/// <summary>
/// <c>repro doctor</c>: can this machine's arithmetic be trusted? Prints the oneDNN configuration, the
/// known-fault probes of issue 12, and the arithmetic self-check of every registry model (the
/// torchvision ResNets with random weights when their weights are absent: the check depends on the
/// layers' configurations, not on the weights) and of the CIFAR models. Exit 0 when everything agrees
/// with float64, 2 (one line naming the model, layer and error) when anything does not.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create(GlobalOptions options)
    {
        var probesOnly = new Option<bool>("--probes-only") { Description = "run only the known-fault probes (no models)" };
        var only = new Option<string?>("--model") { Description = $"check only this model ({string.Join(", ", ModelRegistry.Names)}, or cifar)" };
        var command = new Command("doctor", "check libtorch's float32 arithmetic on this machine against float64: known-fault probes and every model's layer configurations " +
                                  $"(under {OneDnnConfiguration.Variable}: repair (default), as-shipped, isa:NAME or no-mkldnn)") { probesOnly, only };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            options.Apply(r, cpuOnlyCommand: "doctor");
            var paths = options.Paths(r);
            if (r.GetValue(only) is { } wanted && wanted != "cifar") ModelRegistry.Get(wanted); // names an unknown model (exit 2)
            Console.WriteLine($"float32 against float64, error relative to the float64 result's largest magnitude; tolerance {ArithmeticSelfCheck.Tolerance:0e+00}");
            Console.WriteLine($"libtorch: TorchSharp {Repro.Report.RunInfo.TorchSharpVersionOf()}, {get_num_threads()} threads; {OneDnnConfiguration.Summary}");
            var failures = new List<string>();

            Console.WriteLine();
            Console.WriteLine($"{"known-fault probe (issue 12)",-48} {"forward",9} {"input grad",10}  {"fault was in",-15} {"issue",-10} verdict");
            foreach (var p in KnownFaultProbes.Run())
            {
                Console.WriteLine($"{p.Probe.Name,-48} {E(p.Forward),9} {E(p.InputGradient),10}  {p.Probe.Watches,-15} {p.Probe.MeasuredInIssue,-10} {(p.Correct ? "ok" : "WRONG")}");
                if (!p.Correct) failures.Add($"known-fault probe '{p.Probe.Name}': forward {E(p.Forward)}, input gradient {E(p.InputGradient)}");
            }

            if (!r.GetValue(probesOnly))
                foreach (var (name, load) in Models(paths.ModelRoot).Where(m => r.GetValue(only) is not { } o || m.Name.StartsWith(o == "cifar" ? "CIFAR" : o, StringComparison.OrdinalIgnoreCase)))
                {
                    Console.WriteLine();
                    using var model = load();
                    if (model is null)
                    {
                        Console.WriteLine($"{name}: not present, not checked ({ModelRegistry.Get(name).HowToGet(paths.ModelRoot)})");
                        continue;
                    }
                    var input = model is SmallResNet ? [3, SmallResNet.Side, SmallResNet.Side] : ArithmeticSelfCheck.ImageNetInput;
                    var check = ArithmeticSelfCheck.Run(model, name, input);
                    Console.WriteLine(check.Describe());
                    Console.WriteLine($"  {"first layer",-28} {"configuration",-58} {"layers",6} " + string.Join(" ", ArithmeticSelfCheck.Batches.Select(b => $"{"fwd b" + b,8} {"grad b" + b,8}")) + $" {"s",5}  verdict");
                    foreach (var l in check.Layers)
                        Console.WriteLine($"  {Clip(l.Layer, 28),-28} {Clip(l.Configuration.Describe(), 58),-58} {l.Layers,6} "
                                          + string.Join(" ", l.Errors.Select(e => $"{E(e.Forward),8} {E(e.InputGradient),8}")) + $" {l.Seconds,5:F1}  {(l.Passed ? "ok" : "WRONG")}");
                    if (check.Layers.FirstOrDefault(l => !l.Passed) is { } failed)
                        failures.Add($"{name}, layer '{failed.Layer}' ({failed.Configuration.Describe()}): float32 {failed.FirstFailure()}");
                    if (check.Unseen.Count > 0) failures.Add($"{name}: layers not checked: {string.Join(", ", check.Unseen)}");
                }

            Console.WriteLine();
            Console.WriteLine(failures.Count == 0 ? "arithmetic OK: every float32 result agreed with float64" : $"arithmetic WRONG in {failures.Count} place(s)");
            if (failures.Count == 0) return ReproCommand.Ok;
            Console.Error.WriteLine($"repro: doctor: float32 arithmetic disagrees with float64 under {OneDnnConfiguration.Mode}: {failures[0]} of scale (tolerance {ArithmeticSelfCheck.Tolerance:0e+00}){(failures.Count > 1 ? $", and {failures.Count - 1} more" : "")}");
            return ReproCommand.BadInput;
        }));
        return command;
    }

    /// <summary>Every registry model (present, or a torchvision architecture with random weights) and the CIFAR models; a null model is absent.</summary>
    static IEnumerable<(string Name, Func<nn.Module<Tensor, Tensor>?> Load)> Models(string modelRoot)
    {
        foreach (var entry in ModelRegistry.ImageNet)
        {
            if (entry.IsPresent(modelRoot)) yield return (entry.Name, () => { var m = entry.LoadFrom(entry.FindWeights(modelRoot)!); m.eval(); return m; });
            else if (entry.Name.StartsWith("resnet", StringComparison.Ordinal)) yield return ($"{entry.Name} (weights absent: random weights)", () => TorchvisionResNet.Create(entry.Name));
            else yield return (entry.Name, () => null);
        }
        foreach (int width in new[] { TrainingRecipe.Standard.Width, TrainingRecipe.Robust.Width }.Distinct())
            yield return ($"CIFAR SmallResNet (width {width})", () => new SmallResNet(2, width));
    }

    static string E(double value) => double.IsNaN(value) ? "NaN" : value.ToString("0.0e+00");
    static string Clip(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";
}
