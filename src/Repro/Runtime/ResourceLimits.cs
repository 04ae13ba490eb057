using System.Runtime.InteropServices;

namespace Repro.Runtime;

/// <summary>
/// The process's own resource limits (POSIX getrlimit), read once per call, and the file-size signal:
/// what decides whether a run that meets a limit ends with a clean one-line failure (exit 4) or is
/// aborted by the kernel or a native library.
/// <list type="bullet">
/// <item>An address-space limit (<c>ulimit -v</c>, <c>prlimit --as</c>): <see cref="GlibcMallocTuning"/> gives way
/// where one is set, since with mmap off a failed allocation inside oneDNN aborts the process.</item>
/// <item>A file-size limit (<c>ulimit -f</c>): the shell leaves SIGXFSZ's default action, which kills the
/// process mid-write with the file half-written; <see cref="IgnoreFileSizeSignal"/> turns that into a
/// write error (EFBIG) that the run reports and cleans up after.</item>
/// </list>
/// Everything here does nothing (and returns null) off Linux and macOS.
/// </summary>
internal static class ResourceLimits
{
    const int RLIMIT_FSIZE = 1;
    static int RLIMIT_AS => OperatingSystem.IsMacOS() ? 5 : 9;
    const int SIGXFSZ = 25; // Linux and macOS alike

    [StructLayout(LayoutKind.Sequential)]
    struct RLimit
    {
        public ulong Current, Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)] static extern int GetRLimit(int resource, out RLimit limit);
    [DllImport("libc", EntryPoint = "signal")] static extern IntPtr Signal(int signal, IntPtr handler);

    /// <summary>The soft address-space limit in bytes (<c>ulimit -v</c>), or null when there is none (or it cannot be read).</summary>
    public static long? AddressSpaceBytes() => Limit(RLIMIT_AS);

    /// <summary>The soft file-size limit in bytes (<c>ulimit -f</c>), or null when there is none (or it cannot be read).</summary>
    public static long? FileSizeBytes() => Limit(RLIMIT_FSIZE);

    static long? Limit(int resource)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        try
        {
            if (GetRLimit(resource, out var limit) != 0) return null;
            // RLIM_INFINITY is all ones (and anything past long's range is no limit in practice).
            return limit.Current >= long.MaxValue ? null : (long)limit.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>
    /// Ignores SIGXFSZ, so that a write past the file-size limit fails with EFBIG (an <see cref="IOException"/>
    /// "File too large") instead of killing the process with the file half-written. Returns whether it did.
    /// </summary>
    public static bool IgnoreFileSizeSignal()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        try { return Signal(SIGXFSZ, 1 /* SIG_IGN */) != -1 /* SIG_ERR */; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>Bytes as GB with one decimal, for messages.</summary>
    public static string Gigabytes(long bytes) => $"{bytes / 1e9:F1} GB";
}
