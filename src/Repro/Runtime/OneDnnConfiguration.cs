using System.Runtime.InteropServices;

namespace Repro.Runtime;

/// <summary>
/// How libtorch's oneDNN (the library behind its float32 CPU convolutions) is set up for this process,
/// chosen by <c>REPRO_ONEDNN</c> and applied once, before libtorch's first operation (the <c>repro</c>
/// command and both test assemblies call <see cref="Apply"/> first; the arithmetic self-check calls it
/// too, late if need be). Values:
/// <list type="bullet">
/// <item><c>repair</c> (default): where the CPU shows the fault (an AMD CPU whose CPUID cache leaf reads
/// zero, see <see cref="OneDnnCacheRepair"/>), give oneDNN sane cache sizes; elsewhere nothing. Keeps
/// oneDNN's AVX-512 kernels, so it costs nothing. If the repair cannot be made on an affected CPU,
/// oneDNN is disabled for convolutions instead (correct, about 2.3x slower), and the summary says so.</item>
/// <item><c>as-shipped</c>: oneDNN exactly as libtorch ships it (wrong convolutions on affected CPUs:
/// for reproducing the fault).</item>
/// <item><c>isa:NAME</c>: cap oneDNN's instruction set (<c>ONEDNN_MAX_CPU_ISA=NAME</c>, e.g. AVX2, AVX;
/// measured here: AVX fixed every probed case at 1.7x the time, AVX2 all but one).</item>
/// <item><c>no-mkldnn</c>: no oneDNN for convolutions (libtorch's own kernels; measured 2.3x the time).</item>
/// </list>
/// Why the repair and not a cap: measured on ResNet18 (batch 8, fwd + input-bwd), the cap and the
/// disabling each cost 1.3-2.3x, and a per-layer fallback would still leave the wrong kernels in
/// every configuration the check had not seen; the repair removes the cause at no cost
/// (README: "Arithmetic you can trust").
/// </summary>
public static class OneDnnConfiguration
{
    /// <summary>The environment variable choosing the mode: <c>REPRO_ONEDNN</c>.</summary>
    public const string Variable = "REPRO_ONEDNN";
    static readonly object gate = new();
    static string? summary;

    /// <summary>The mode in force (repair, as-shipped, isa:NAME, no-mkldnn), or null before <see cref="Apply"/>.</summary>
    public static string? Mode { get; private set; }

    /// <summary>True when oneDNN runs as shipped on a CPU that shows the fault (the self-check will fail).</summary>
    public static bool FaultExpected { get; private set; }

    /// <summary>One line for reports: the mode, what the CPU reports and what was done. Applies the configuration if not yet done.</summary>
    public static string Summary
    {
        get
        {
            Apply();
            return summary!;
        }
    }

    /// <summary>
    /// Applies the configuration named by <c>REPRO_ONEDNN</c> once per process; later calls do nothing.
    /// Throws <see cref="ReproInputException"/> naming the variable when its value is unknown.
    /// </summary>
    public static void Apply()
    {
        lock (gate)
        {
            if (summary != null) return;
            string requested = (Environment.GetEnvironmentVariable(Variable) ?? "").Trim();
            string mode = requested == "" ? "repair" : requested.ToLowerInvariant();
            string shellCap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") is { Length: > 0 } cap ? $"; ONEDNN_MAX_CPU_ISA={cap} set in the environment" : "";
            var leaves = OneDnnCacheRepair.ReadCacheLeaves();
            string cpu = leaves?.Describe() ?? "not an x86 CPU";
            string detail;
            if (mode == "repair")
            {
                var outcome = leaves is null ? OneDnnCacheRepair.Outcome.NotNeeded : OneDnnCacheRepair.Repair(leaves);
                detail = outcome switch
                {
                    OneDnnCacheRepair.Outcome.NotNeeded => $"nothing to repair ({cpu})",
                    OneDnnCacheRepair.Outcome.Repaired => $"oneDNN's cache sizes repaired ({cpu}; oneDNN 3.7 took L1 = L2 = L3 = 1 byte, now its defaults, as oneDNN >= 3.8 does)",
                    OneDnnCacheRepair.Outcome.AlreadyUsed => $"oneDNN's cache sizes repaired late: oneDNN had run before Repro's start-up, so primitives created before may still be wrong ({cpu})",
                    _ => DisableInstead($"the repair is not possible here ({outcome}) on an {cpu}"),
                };
            }
            else if (mode == "as-shipped")
            {
                FaultExpected = leaves?.Affected == true;
                detail = $"oneDNN as libtorch ships it ({cpu}{(FaultExpected ? "; float32 convolutions are expected to be WRONG here" : "")})";
            }
            else if (mode.StartsWith("isa:", StringComparison.Ordinal) && mode.Length > 4)
            {
                string isa = requested.Trim()[4..].ToUpperInvariant();
                if (SetEnv("ONEDNN_MAX_CPU_ISA", isa, 1) != 0) throw new ReproEnvironmentException($"{Variable}={requested}: could not set ONEDNN_MAX_CPU_ISA");
                shellCap = "";
                detail = $"oneDNN capped at ONEDNN_MAX_CPU_ISA={isa} ({cpu})";
            }
            else if (mode == "no-mkldnn")
                detail = DisableInstead("requested");
            else
                throw new ReproInputException($"{Variable}='{requested}' is not a known value (repair, as-shipped, isa:<ONEDNN_MAX_CPU_ISA value, e.g. isa:AVX2>, no-mkldnn)");
            DisableNnpack();
            Mode = mode.StartsWith("isa:", StringComparison.Ordinal) ? "isa:" + requested.Trim()[4..].ToUpperInvariant() : mode;
            summary = $"{Variable}={Mode}: {detail}{shellCap}";
        }
    }

    static string DisableInstead(string why)
    {
        try { SetUserEnabledMkldnn(GlobalContext(), false); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            throw new ReproEnvironmentException($"{Variable}: cannot disable oneDNN in this libtorch (at::Context::setUserEnabledMkldnn not found: {e.Message})", e);
        }
        return $"oneDNN disabled for convolutions ({why}; libtorch's own kernels, correct but slower)";
    }

    // NNPACK is libtorch's third CPU convolution path, taken for inference-only batches of 16 or more
    // where the CPU supports it. Off in every mode (torch.backends.nnpack.set_flags(False)): the
    // arithmetic self-check runs batches 1 and 2, so a path that only large batches take would go
    // unchecked; and where NNPACK is unsupported (AMD EPYC here) libtorch would otherwise print
    // "Could not initialize NNPACK" on stderr at every convolution it considers for it.
    static void DisableNnpack()
    {
        try { SetUserEnabledNnpack(GlobalContext(), false); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { /* a libtorch without NNPACK: nothing to turn off */ }
    }

    [DllImport("libc", EntryPoint = "setenv")] static extern int SetEnv(string name, string value, int overwrite);
    // at::globalContext() and at::Context::setUserEnabledMkldnn(bool): libtorch's switch behind
    // torch.backends.mkldnn.enabled, which TorchSharp does not expose.
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")] static extern IntPtr GlobalContext();
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")] static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")] static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
}
