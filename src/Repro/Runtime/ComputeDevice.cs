using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Runtime;

/// <summary>
/// The one device setting of a run: <c>--device</c> on every command, <c>REPRO_DEVICE</c> for the
/// test suite (default <c>cpu</c>). Accepted: <c>cpu</c>, <c>cuda</c> (the first GPU) and
/// <c>cuda:N</c>. A device that is asked for and absent is refused with one line
/// (<see cref="ReproInputException"/>, exit code 2), never replaced by the CPU.
/// </summary>
public static class ComputeDevice
{
    /// <summary>The environment variable the test suite (and every command without --device) reads.</summary>
    public const string Variable = "REPRO_DEVICE";

    /// <summary>
    /// The device named by <paramref name="text"/>; <paramref name="source"/> names where it came from
    /// ("--device", "REPRO_DEVICE") in the message when it is refused.
    /// </summary>
    /// <exception cref="ReproInputException">Not cpu, cuda or cuda:N; or CUDA asked for where no CUDA libtorch or GPU is.</exception>
    public static Device Parse(string? text, string source = "device")
    {
        string name = (text ?? "cpu").Trim().ToLowerInvariant();
        if (name == "cpu") return CPU;
        int index = 0;
        bool isCuda = name == "cuda" || (name.StartsWith("cuda:") && int.TryParse(name[5..], out index) && index >= 0);
        if (!isCuda) throw new ReproInputException($"{source} must be cpu, cuda or cuda:N, got '{text}'");
        if (!cuda.is_available())
            throw new ReproInputException($"{source} {name}: no CUDA device or CUDA libtorch here (this build or machine has none; see README: GPU runner)");
        if (index >= cuda.device_count())
            throw new ReproInputException($"{source} {name}: only {cuda.device_count()} CUDA device(s) here (cuda:0 .. cuda:{cuda.device_count() - 1})");
        return new Device(DeviceType.CUDA, index);
    }

    /// <summary>The device named by REPRO_DEVICE, else the CPU.</summary>
    /// <exception cref="ReproInputException">REPRO_DEVICE names a device that is not valid or not present.</exception>
    public static Device FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } v ? v : "cpu", Variable);

    /// <summary>"cpu" or "cuda:N", as the report prints it.</summary>
    public static string Name(Device device) => device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, device.index)}" : device.type.ToString().ToLowerInvariant();

    /// <summary>
    /// The GPU's name for the report. TorchSharp 0.107 does not expose <c>torch.cuda.get_device_name</c>,
    /// so it is read from the NVIDIA driver's <c>/proc/driver/nvidia/gpus/*/information</c> ("Model:"
    /// line); several different models are all listed (the driver's order need not be CUDA's).
    /// "unknown" when the driver says nothing; null for the CPU.
    /// </summary>
    public static string? GpuName(Device device)
    {
        if (device.type != DeviceType.CUDA) return null;
        try
        {
            const string root = "/proc/driver/nvidia/gpus";
            if (!Directory.Exists(root)) return "unknown (no /proc/driver/nvidia/gpus; TorchSharp 0.107 does not expose the device name)";
            var models = Directory.GetDirectories(root).Order(StringComparer.Ordinal)
                .Select(d => Path.Combine(d, "information")).Where(File.Exists)
                .Select(f => File.ReadLines(f).FirstOrDefault(l => l.StartsWith("Model:"))?.Split(':', 2)[1].Trim())
                .OfType<string>().ToList();
            if (models.Count == 0) return "unknown (the NVIDIA driver lists no GPU model)";
            var distinct = models.Distinct().ToList();
            return distinct.Count == 1 ? (models.Count == 1 ? distinct[0] : $"{distinct[0]} (x{models.Count} on this machine)") : string.Join(", ", distinct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unknown (" + e.Message + ")"; }
    }

    /// <summary>
    /// Sets whether CUDA matrix products and cuDNN convolutions may use TF32 (10-bit mantissa inputs,
    /// ~1e-3 relative error, several times faster on Ampere and later). Off by default for every
    /// command and the claim tests, so that a GPU computes in full float32 like the CPU and the same
    /// seed gives the same figures within <c>Experiments/CrossDeviceTolerance</c>. (A flag in
    /// libtorch's global context: setting it needs no GPU.)
    /// </summary>
    public static void AllowTf32(bool allow)
    {
        backends.cuda.matmul.allow_tf32 = allow;
        backends.cudnn.allow_tf32 = allow;
    }

    /// <summary>True when either CUDA matrix products or cuDNN convolutions may use TF32.</summary>
    public static bool Tf32Allowed => backends.cuda.matmul.allow_tf32 || backends.cudnn.allow_tf32;
}
