using System.CommandLine;
using Repro.Application;
using Repro.Data;
using Repro.Data.Assets;
using Repro.Experiments;
using Repro.Runtime;

namespace Repro.Cli;

/// <summary>Options every command takes: where data, weights and outputs are, the seed, the device, whether the network may be used.</summary>
internal sealed class GlobalOptions
{
    public readonly Option<string?> Data = new("--data") { Description = $"data root (default: ${ReproPaths.DataVariable}, else data/ in the per-user cache ${ReproPaths.CacheVariable}, ~/.cache/repro)", Recursive = true };
    public readonly Option<string?> Models = new("--models") { Description = $"model root (default: ${ReproPaths.ModelVariable}, else models/ in the per-user cache)", Recursive = true };
    public readonly Option<bool> Offline = new("--offline") { Description = $"never use the network: missing data and weights make claims NOT RUN (also ${AssetFetchOptions.OfflineVariable}=1)", Recursive = true };
    public readonly Option<string> Out = new("--out") { Description = "output folder: new or empty (never an input folder or a system folder); results appear in it only when complete", DefaultValueFactory = _ => "out", Recursive = true };
    public readonly Option<bool> Overwrite = new("--overwrite") { Description = "replace an earlier run's results in --out (only the files this command writes, and what a stopped run left there); without it --out must be new or empty", Recursive = true };
    public readonly Option<long> Seed = new("--seed") { Description = "random seed (recorded in every report)", DefaultValueFactory = _ => 0, Recursive = true };
    public readonly Option<string?> Device = new("--device") { Description = $"cpu, cuda or cuda:N, for every command (default: ${ComputeDevice.Variable}, else cpu; cuda needs a CUDA build of libtorch and a GPU, see README: GPU runner)", Recursive = true };
    public readonly Option<string?> ScaleName = new("--scale") { Description = $"quick or full: how many images the claims use; thresholds are the same at both (default: ${Scales.Variable}, else quick on the CPU, full on a GPU)", Recursive = true };
    public readonly Option<bool> Tf32 = new("--tf32") { Description = "let CUDA matrix products and convolutions use TF32 (faster, ~1e-3 relative error; off by default so that a GPU computes like the CPU)", Recursive = true };
    public readonly Option<int> Threads = new("--threads") { Description = "libtorch threads, at most the machine's cores (default: libtorch's choice)", DefaultValueFactory = _ => 0, Recursive = true };
    public readonly Option<bool> Verbose = new("--verbose") { Description = "on a failure, print the full exception with its stack trace after the one-line message", Recursive = true };

    public void AddTo(Command root)
    {
        foreach (var o in new Option[] { Data, Models, Out, Overwrite, Seed, Device, ScaleName, Tf32, Threads, Offline, Verbose }) root.Options.Add(o);
    }

    /// <summary>
    /// The output folder (--out) checked against <see cref="CommandPolicy.OutputFolder"/> with --overwrite, before any work:
    /// <paramref name="isOwnResult"/> names the entries this command writes, <paramref name="inputs"/> the folders it reads.
    /// </summary>
    public ExclusiveOutputFolder Output(ParseResult r, Func<string, bool> isOwnResult, params (string Option, string? Path)[] inputs) =>
        CommandPolicy.OutputFolder(r.GetValue(Out), r.GetValue(Overwrite), isOwnResult, inputs, Console.Error);

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
        AssetStore.OnDemand = offline ? null : new AssetFetcher(AssetFetchOptions.FromEnvironment(), Console.Error) { Progress = TerminalProgress.Sink };
    }

    /// <summary>
    /// Validates the device, TF32 and thread options, applies them, and returns the device the
    /// command's models and images go to: --device, else REPRO_DEVICE, else the CPU. A device that is
    /// asked for and absent is refused (exit code 2, one line), never replaced by the CPU. TF32 is
    /// switched off unless --tf32 is given. <paramref name="cpuOnlyCommand"/> (a command's name) makes
    /// that command refuse anything but the CPU; no command of this version needs it.
    /// </summary>
    /// <exception cref="ReproInputException">An unknown or absent device, or --threads negative or above the cores (<see cref="CommandPolicy.Threads"/>).</exception>
    public TorchSharp.torch.Device Apply(ParseResult r, string? cpuOnlyCommand = null)
    {
        string? requested = r.GetValue(Device);
        var device = string.IsNullOrWhiteSpace(requested) ? ComputeDevice.FromEnvironment() : ComputeDevice.Parse(requested, "--device");
        if (cpuOnlyCommand is not null && device.type != TorchSharp.DeviceType.CPU)
            throw new ReproInputException($"--device {ComputeDevice.Name(device)}: '{cpuOnlyCommand}' runs on the CPU only");
        int threads = CommandPolicy.Threads(r.GetValue(Threads), CommandPolicy.Cores);
        CommandPolicy.ThreadEnvironment(Environment.GetEnvironmentVariable, CommandPolicy.Cores);
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
        ComputeDevice.AllowTf32(r.GetValue(Tf32));
        return device;
    }

    /// <summary>
    /// <see cref="Apply"/>, then the scale: --scale, else REPRO_SCALE, else full on a GPU and quick on
    /// the CPU. What a command that runs experiments (run, robustness) puts into its <see cref="ExperimentContext"/>.
    /// </summary>
    /// <exception cref="ReproInputException">As <see cref="Apply"/>, or a scale other than quick or full.</exception>
    public (TorchSharp.torch.Device Device, Scale Scale) Compute(ParseResult r)
    {
        var device = Apply(r);
        return (device, Scales.Resolve(r.GetValue(ScaleName), device, "--scale"));
    }
}
