using System.CommandLine;
using Repro.Attacks;
using TorchSharp;

namespace Repro.Cli;

/// <summary><c>--precision fp32|bf16|fp16</c>: the arithmetic of the model's passes in a search or attribution (<see cref="AttackPrecision"/>).</summary>
internal sealed class PrecisionOption
{
    public Option<string> Option { get; } = new("--precision")
    {
        DefaultValueFactory = _ => "fp32",
        Description = "fp32, bf16 or fp16: the arithmetic of the model's forward and input-backward passes while searching; every reported number is " +
                      "re-computed in float32; the search can find slightly different examples, mostly fewer (measured on 200 CIFAR images with APGD-CE: bf16 missed 3 and fp16 2 of the 82 float32 fooled, robust accuracy overstated by 1.5 and 1 points; once more: fp16 under the ensemble fooled 1 that float32 did not); robustness: --screen-then-confirm is never weaker than fp32; not faster than fp32 on a CPU without fast bf16 units (README: low-precision attacks)",
    };

    public void AddTo(Command command) => command.Options.Add(Option);

    /// <summary>The precision asked for; refused (exit 2) when unknown or when <paramref name="device"/> has no kernels for it.</summary>
    public AttackPrecision Parse(ParseResult r, torch.Device device)
    {
        var precision = r.GetValue(Option)?.Trim().ToLowerInvariant() switch
        {
            "fp32" or "float32" => AttackPrecision.Float32,
            "bf16" or "bfloat16" => AttackPrecision.BFloat16,
            "fp16" or "float16" => AttackPrecision.Float16,
            var other => throw new ReproInputException($"--precision must be fp32, bf16 or fp16, got '{other}'"),
        };
        if (!AttackPrecisions.Supported(precision, device, out var reason))
            throw new ReproInputException($"--precision {precision.ShortName()}: {Runtime.ComputeDevice.Name(device)} has no {precision.ShortName()} kernels for the model's layers here ({reason})");
        return precision;
    }

    /// <summary>The arithmetic self-check of <paramref name="network"/> (inputs [N, ..<paramref name="input"/>]) in a low <paramref name="precision"/>; refuses the model (exit 2) where it fails. Nothing for float32 (checked at load).</summary>
    public static void Check(torch.nn.Module<torch.Tensor, torch.Tensor> network, string name, long[] input, AttackPrecision precision)
    {
        if (precision != AttackPrecision.Float32) Runtime.ArithmeticSelfCheck.Ensure(network, name, input, precision.DType());
    }
}
