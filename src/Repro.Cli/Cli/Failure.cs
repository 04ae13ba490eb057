using System.Reflection;
using System.Runtime.InteropServices;

namespace Repro.Cli;

/// <summary>
/// How a command's failure is reported: one line on stderr and an exit code (<see cref="ExitCodes"/>).
/// Input faults (<see cref="ReproInputException"/>, a missing file) exit 2; faults of the machine
/// (<see cref="ReproEnvironmentException"/>, a full disk, an I/O error, no permission, no memory, a
/// native library that does not load) exit 4; anything else is a fault of Repro itself and exits 70
/// with "internal error: ... (run with --verbose for details)". <c>--verbose</c> adds the exception
/// with its stack trace.
/// </summary>
internal static class Failure
{
    /// <summary>The exit code and the one-line message (no line breaks) for an exception.</summary>
    public static (int Code, string Message) Classify(Exception exception)
    {
        var e = Unwrap(exception);
        var (code, message) = e switch
        {
            ReproInputException => (ExitCodes.BadInput, e.Message),
            ReproEnvironmentException => (ExitCodes.EnvironmentFault, e.Message),
            // An assembly of Repro itself that does not load: a broken install, or (seen under prlimit --as=1.5 GB) too little address space to map it.
            FileLoadException or FileNotFoundException when e.Message.StartsWith("Could not load file or assembly", StringComparison.Ordinal) =>
                (ExitCodes.EnvironmentFault, $"a part of Repro could not be loaded: {FirstLine(e.Message)} (if the install is complete, check the memory limits: ulimit -v)"),
            FileNotFoundException or DirectoryNotFoundException => (ExitCodes.BadInput, e.Message),
            // A path the user gave that the file APIs cannot take (empty, a NUL byte): their input, not Repro's fault.
            ArgumentException { ParamName: "path" or "path1" or "path2" or "paths" } => (ExitCodes.BadInput, $"not a usable path: {FirstLine(e.Message)}"),
            // How .NET reports EFBIG (a write past the file system's or the process's file-size limit, ulimit -f) from any file API.
            ArgumentOutOfRangeException when e.TargetSite?.DeclaringType?.Namespace == "System.IO" =>
                (ExitCodes.EnvironmentFault, $"file too large for the file system or the process's file-size limit (ulimit -f): {FirstLine(e.Message)}"),
            IOException io when IsDiskFull(io) => (ExitCodes.EnvironmentFault, $"disk full: {e.Message}"),
            IOException => (ExitCodes.EnvironmentFault, $"input/output error: {e.Message}"),
            UnauthorizedAccessException => (ExitCodes.EnvironmentFault, $"permission denied: {e.Message}"),
            OutOfMemoryException or InsufficientMemoryException => (ExitCodes.EnvironmentFault, $"out of memory: {e.Message}"),
            DllNotFoundException or EntryPointNotFoundException or BadImageFormatException =>
                (ExitCodes.EnvironmentFault, NativeLibrary(e)),
            NotSupportedException when e.Message.Contains("native", StringComparison.OrdinalIgnoreCase) =>
                (ExitCodes.EnvironmentFault, NativeLibrary(e)),
            ExternalException when e.Message.Contains("allocate", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) =>
                (ExitCodes.EnvironmentFault, $"out of memory (libtorch): {FirstLine(e.Message)}"),
            _ => (ExitCodes.InternalError, $"internal error: {e.GetType().Name}: {FirstLine(e.Message)} (run with --verbose for details)"),
        };
        return (code, OneLine(message));
    }

    /// <summary>Writes the failure to <paramref name="error"/> ("repro: " + one line; with <paramref name="verbose"/>, the whole exception after it) and returns its exit code.</summary>
    public static int Report(Exception exception, bool verbose, TextWriter error)
    {
        var (code, message) = Classify(exception);
        try
        {
            error.WriteLine($"repro: {message}");
            if (verbose) error.WriteLine(exception.ToString());
        }
        catch (IOException)
        {
            // stderr itself failed (closed, full, or no file handle left to write with): the exit code still says what happened.
        }
        return code;
    }

    /// <summary>
    /// TorchSharp's own text for a native library that does not load runs to 2 KB of advice about package
    /// references; its first line, and the other common cause: too little address space to map libtorch.
    /// </summary>
    static string NativeLibrary(Exception e) =>
        $"a native library could not be loaded: {FirstLine(e.Message)} (if the packages are installed, check the memory limits: ulimit -v)";

    /// <summary>ENOSPC (28) or EDQUOT (122) on Linux, as .NET reports them in HResult; ERROR_DISK_FULL (112) or ERROR_HANDLE_DISK_FULL (39) on Windows.</summary>
    public static bool IsDiskFull(IOException e)
    {
        int h = e.HResult, low = h & 0xFFFF;
        return h is 28 or 122 || (h != low && low is 112 or 39) || e.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
               || e.Message.Contains("Disk quota exceeded", StringComparison.OrdinalIgnoreCase);
    }

    static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a: e = a.InnerExceptions[0]; continue;
                case TargetInvocationException { InnerException: { } inner }: e = inner; continue;
                case TypeInitializationException { InnerException: { } inner }: e = inner; continue;
                case TaskSchedulerException { InnerException: { } inner }: e = inner; continue;
            }
            return e;
        }
    }

    static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "..." : line;
    }

    /// <summary>Line breaks inside a message (from file names) written as \n and \r, so the message stays one line.</summary>
    static string OneLine(string message) => message.Replace("\r", "\\r").Replace("\n", "\\n");
}
