using System.Reflection;
using System.Runtime.InteropServices;
using Repro.Data.Assets;

namespace Repro.Report;

/// <summary>What a report must say about the run itself: seed, versions, machine, device and scale, when and how long, which data and weights.</summary>
internal sealed record RunInfo(long Seed, DateTimeOffset Started, TimeSpan Elapsed, string Command)
{
    /// <summary>The device the experiments ran on: "cpu" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>The GPU's name ("unknown" where the driver does not say); null on the CPU.</summary>
    public string? Gpu { get; init; }
    /// <summary>"quick" or "full" (sizes only: the thresholds are the same at both).</summary>
    public string Scale { get; init; } = "quick";
    /// <summary>Whether CUDA matrix products and convolutions were allowed TF32 (off unless --tf32).</summary>
    public bool Tf32 { get; init; }

    /// <summary>This record with the device (its GPU name), the scale and the TF32 setting now in force.</summary>
    public RunInfo On(TorchSharp.torch.Device device, Repro.Experiments.Scale scale) => this with
    {
        Device = Repro.Runtime.ComputeDevice.Name(device),
        Gpu = Repro.Runtime.ComputeDevice.GpuName(device),
        Scale = Repro.Experiments.Scales.Name(scale),
        Tf32 = Repro.Runtime.ComputeDevice.Tf32Allowed,
    };

    /// <summary>"cpu" or "cuda:0 (NVIDIA H100 80GB HBM3), TF32 off", as the report's header prints it.</summary>
    public string DeviceDescription => Gpu is null ? Device : $"{Device} ({Gpu}), TF32 {(Tf32 ? "allowed" : "off")}";

    /// <summary>Every catalogue asset under the run's roots: present or not, how verified (with the sha256 recorded on first download).</summary>
    public IReadOnlyList<AssetStatus> Assets { get; init; } = [];

    // Captured when the run starts (init values), so the report states what the run saw.
    public string ReproVersion { get; init; } = Version(typeof(RunInfo).Assembly);
    public string TorchSharpVersion { get; init; } = TorchSharpVersionOf();
    public static string TorchSharpVersionOf() => Version(typeof(TorchSharp.torch).Assembly);
    /// <summary>How libtorch's oneDNN is configured (REPRO_ONEDNN) and what the arithmetic self-check found in this process.</summary>
    public string OneDnn { get; init; } = Repro.Runtime.OneDnnConfiguration.Summary;
    /// <summary>What the arithmetic self-check found, read when the report is written (models are checked as the run loads them).</summary>
    public static string ArithmeticCheck => Repro.Runtime.ArithmeticSelfCheck.Summary;
    public string Runtime { get; init; } = RuntimeInformation.FrameworkDescription;
    public string Os { get; init; } = RuntimeInformation.OSDescription;
    public int Threads { get; init; } = TorchSharp.torch.get_num_threads();
    public string Machine { get; init; } = $"{Environment.ProcessorCount} cores, {Processor()}";

    static string Version(Assembly a) =>
        a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? a.GetName().Version?.ToString() ?? "?";

    static string Processor()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"));
            if (line != null) return line.Split(':', 2)[1].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
