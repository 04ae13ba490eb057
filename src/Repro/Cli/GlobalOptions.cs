using System.CommandLine;
using Repro.Data;
using Repro.Data.Assets;

namespace Repro.Cli;

/// <summary>Options every command takes: where data, weights and outputs are, the seed, the device, whether the network may be used.</summary>
public sealed class GlobalOptions
{
    public readonly Option<string?> Data = new("--data") { Description = $"data root (default: ${ReproPaths.DataVariable}, else data/ in the per-user cache ${ReproPaths.CacheVariable}, ~/.cache/repro)", Recursive = true };
    public readonly Option<string?> Models = new("--models") { Description = $"model root (default: ${ReproPaths.ModelVariable}, else models/ in the per-user cache)", Recursive = true };
    public readonly Option<bool> Offline = new("--offline") { Description = $"never use the network: missing data and weights make claims NOT RUN (also ${AssetFetchOptions.OfflineVariable}=1)", Recursive = true };
    public readonly Option<string> Out = new("--out") { Description = "output folder", DefaultValueFactory = _ => "out", Recursive = true };
    public readonly Option<long> Seed = new("--seed") { Description = "random seed (recorded in every report)", DefaultValueFactory = _ => 0, Recursive = true };
    public readonly Option<string> Device = new("--device") { Description = "cpu or cuda for attack, eval and bench (cuda needs a CUDA build of libtorch; run and train use the CPU)", DefaultValueFactory = _ => "cpu", Recursive = true };
    public readonly Option<int> Threads = new("--threads") { Description = "libtorch threads (default: libtorch's choice)", DefaultValueFactory = _ => 0, Recursive = true };
    public readonly Option<bool> Verbose = new("--verbose") { Description = "on a failure, print the full exception with its stack trace after the one-line message", Recursive = true };

    public void AddTo(Command root)
    {
        foreach (var o in new Option[] { Data, Models, Out, Seed, Device, Threads, Offline, Verbose }) root.Options.Add(o);
    }

    public ReproPaths Paths(ParseResult r) => ReproPaths.Resolve(r.GetValue(Data), r.GetValue(Models));

    /// <summary>True when --offline or REPRO_OFFLINE=1.</summary>
    public bool IsOffline(ParseResult r) => r.GetValue(Offline) || AssetFetchOptions.OfflineFromEnvironment();

    /// <summary>
    /// For commands that fetch what they need on first use (run, eval, attack): missing assets are
    /// downloaded into their root (mirror from REPRO_MIRROR), unless offline.
    /// </summary>
    public void FetchOnFirstUse(ParseResult r)
    {
        bool offline = IsOffline(r);
        AssetStore.Offline = offline;
        AssetStore.ForgetFailures();
        AssetStore.OnDemand = offline ? null : new AssetFetcher(AssetFetchOptions.FromEnvironment(), Console.Error);
    }

    /// <summary>
    /// Validates the device and thread options, applies the threads, and returns the device the
    /// command's model and images go to. Commands that run on the CPU only pass
    /// <paramref name="cpuOnlyCommand"/> (their name) and refuse --device cuda rather than ignore it.
    /// </summary>
    public TorchSharp.torch.Device Apply(ParseResult r, string? cpuOnlyCommand = null)
    {
        string device = r.GetValue(Device) ?? "cpu";
        if (device != "cpu" && device != "cuda") throw new ReproInputException($"--device must be cpu or cuda, got '{device}'");
        if (device == "cuda" && cpuOnlyCommand is not null)
            throw new ReproInputException($"--device cuda: '{cpuOnlyCommand}' runs on the CPU only in this version (attack, eval, bench and the library follow their inputs' device)");
        if (device == "cuda" && !TorchSharp.torch.cuda.is_available())
            throw new ReproInputException("--device cuda: no CUDA device or CUDA libtorch here (build with the CUDA opt-in, see README)");
        int threads = r.GetValue(Threads);
        if (threads < 0) throw new ReproInputException($"--threads must be >= 0, got {threads}");
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
        return device == "cuda" ? TorchSharp.torch.CUDA : TorchSharp.torch.CPU;
    }
}
