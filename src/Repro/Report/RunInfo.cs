using System.Reflection;
using System.Runtime.InteropServices;
using Repro.Data.Assets;

namespace Repro.Report;

/// <summary>What a report must say about the run itself: seed, versions, machine, when and how long, which data and weights.</summary>
public sealed record RunInfo(long Seed, DateTimeOffset Started, TimeSpan Elapsed, string Command)
{
    /// <summary>Every catalogue asset under the run's roots: present or not, how verified (with the sha256 recorded on first download).</summary>
    public IReadOnlyList<AssetStatus> Assets { get; init; } = [];

    public string ReproVersion => Version(typeof(RunInfo).Assembly);
    public string TorchSharpVersion => Version(typeof(TorchSharp.torch).Assembly);
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
