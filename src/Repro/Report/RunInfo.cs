using System.Reflection;
using System.Runtime.InteropServices;

namespace Repro.Report;

/// <summary>What a report must say about the run itself: seed, versions, machine, when and how long.</summary>
public sealed record RunInfo(long Seed, DateTimeOffset Started, TimeSpan Elapsed, string Command)
{
    public string ReproVersion => Version(typeof(RunInfo).Assembly);
    public string TorchSharpVersion => TorchSharpVersionOf();
    public static string TorchSharpVersionOf() => Version(typeof(TorchSharp.torch).Assembly);
    /// <summary>How libtorch's oneDNN is configured (REPRO_ONEDNN) and what the arithmetic self-check found in this process.</summary>
    public string OneDnn => Repro.Runtime.OneDnnConfiguration.Summary;
    public string ArithmeticCheck => Repro.Runtime.ArithmeticSelfCheck.Summary;
    public string Runtime => RuntimeInformation.FrameworkDescription;
    public string Os => RuntimeInformation.OSDescription;
    public int Threads => TorchSharp.torch.get_num_threads();
    public string Machine => $"{Environment.ProcessorCount} cores, {Processor()}";

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
