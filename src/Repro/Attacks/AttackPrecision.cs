using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The arithmetic an attack's search (or an attribution) runs the model in. The model's forward and
/// input-backward passes run in this precision (<see cref="LowPrecision"/>); projections, step norms,
/// bookkeeping and loss reductions stay in float32, and every adversarial example an attack returns
/// is re-evaluated by a float32 forward pass before its loss, logits, success and norms are reported
/// (<see cref="LowPrecision.Confirm"/>). So a low precision changes how strong the search is, never
/// a reported number. Default <see cref="Float32"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "the members are named after the dtypes they stand for")]
public enum AttackPrecision
{
    /// <summary>Everything in float32 (the default; every claim uses it).</summary>
    Float32,
    /// <summary>The model in bfloat16 (8-bit mantissa, float32's range): about half a float32 pass on CPUs with AVX-512 BF16 / AMX and on GPUs with bfloat16 tensor cores.</summary>
    BFloat16,
    /// <summary>The model in float16 (11-bit mantissa, range ±65504): fast on GPUs; on CPUs without AVX-512 FP16 / AMX-FP16 slower than float32.</summary>
    Float16,
}

/// <summary>Names and dtypes of <see cref="AttackPrecision"/>, and whether a device has its kernels.</summary>
public static class AttackPrecisions
{
    /// <summary>The model's dtype in this precision.</summary>
    public static ScalarType DType(this AttackPrecision precision) => precision switch
    {
        AttackPrecision.Float32 => ScalarType.Float32,
        AttackPrecision.BFloat16 => ScalarType.BFloat16,
        AttackPrecision.Float16 => ScalarType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision"),
    };

    /// <summary>The short name reports use: fp32, bf16, fp16.</summary>
    public static string ShortName(this AttackPrecision precision) => precision switch
    {
        AttackPrecision.Float32 => "fp32",
        AttackPrecision.BFloat16 => "bf16",
        AttackPrecision.Float16 => "fp16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision"),
    };

    static readonly object gate = new();
    static readonly Dictionary<(AttackPrecision, DeviceType, int), string?> probed = [];

    /// <summary>
    /// Whether <paramref name="device"/> runs the model operations attacks need (convolution, batch
    /// norm, linear, pooling, forward and input gradient) in <paramref name="precision"/>: a tiny network
    /// is run once per process and device; <paramref name="reason"/> says what failed (libtorch's first line).
    /// Float32 is always supported.
    /// </summary>
    public static bool Supported(AttackPrecision precision, Device device, out string reason)
    {
        reason = "";
        if (precision == AttackPrecision.Float32) return true;
        var key = (precision, device.type, device.index);
        string? failure;
        lock (gate)
        {
            if (!probed.TryGetValue(key, out failure))
                probed[key] = failure = Probe(precision.DType(), device);
        }
        reason = failure ?? "";
        return failure is null;
    }

    static string? Probe(ScalarType dtype, Device device)
    {
        try
        {
            using var scope = NewDisposeScope();
            using var grad = enable_grad();
            var generator = new Generator(1);
            var x = rand([2, 3, 8, 8], generator: generator).to(dtype, device).requires_grad_(true);
            var w = rand([4, 3, 3, 3], generator: generator).to(dtype, device);
            var y = nn.functional.conv2d(x, w, padding: [1, 1]);
            y = nn.functional.batch_norm(y, zeros(4, dtype: dtype, device: device), ones(4, dtype: dtype, device: device),
                ones(4, dtype: dtype, device: device), zeros(4, dtype: dtype, device: device), training: false);
            y = nn.functional.relu(nn.functional.max_pool2d(y, 2));
            y = nn.functional.adaptive_avg_pool2d(y, [1, 1]).flatten(1);
            var logits = nn.functional.linear(y, rand([5, 4], generator: generator).to(dtype, device)).to(ScalarType.Float32);
            var g = autograd.grad([logits.sum()], [x])[0];
            if (g.dtype != dtype || !g.isfinite().all().item<bool>()) return $"the input gradient came back as {g.dtype}, not finite";
            return null;
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or NotSupportedException or ArgumentException)
        {
            return e.Message.Split('\n')[0];
        }
    }
}
