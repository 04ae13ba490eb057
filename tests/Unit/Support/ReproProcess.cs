using System.Diagnostics;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// Runs the <c>repro</c> command built beside the tests in a child process, with extra environment
/// variables (a null value removes one): for what is fixed per process (the oneDNN configuration must
/// precede libtorch's first use).
/// </summary>
public static class ReproProcess
{
    public static (int Code, string Output, string Error) Run(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args))!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>
    /// The command's own build output (src/Repro.Cli/bin/...) rather than the copy beside the tests, when it exists:
    /// under <c>dotnet test --collect "XPlat Code Coverage"</c> (CI) the copies beside the tests are instrumented by
    /// Coverlet, and a child process running them can abort (exit 134) when Coverlet's hit file cannot be written
    /// (a file-size or address-space limit, a signal) whatever the command itself does.
    /// </summary>
    public static string Uninstrumented(string dll)
    {
        string folder = Path.GetDirectoryName(dll)!;
        string marker = Path.Combine("tests", "Unit", "bin") + Path.DirectorySeparatorChar;
        int at = folder.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) return dll;
        string own = Path.Combine(folder[..at], "src", "Repro.Cli", "bin", folder[(at + marker.Length)..], Path.GetFileName(dll));
        return File.Exists(own) ? own : dll;
    }

    /// <summary>How to start the command: its own build's launcher (<see cref="Uninstrumented"/>), else <c>dotnet Repro.Cli.dll</c>; output and errors redirected.</summary>
    public static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        string dll = Uninstrumented(typeof(Repro.Cli.ReproCommand).Assembly.Location); // Repro.Cli.dll: the command (the library is Repro.dll)
        string host = Path.Combine(Path.GetDirectoryName(dll)!, Path.GetFileNameWithoutExtension(dll));
        var start = File.Exists(host) ? new ProcessStartInfo(host) : new ProcessStartInfo("dotnet") { ArgumentList = { dll } };
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return start;
    }

    /// <summary>
    /// Says NOT RUN unless a child of this process can receive SIG<paramref name="signal"/>. A shell without job
    /// control starts background commands with SIGINT (and SIGQUIT) ignored, an ignored signal stays ignored in
    /// every child (POSIX), and .NET then installs no handler for it: such a run cannot be stopped with Ctrl-C.
    /// </summary>
    /// <param name="signal">The signal's name without SIG: INT, TERM, ...</param>
    public static void RequireSignalReachesChildren(string signal)
    {
        int number = signal switch { "HUP" => 1, "INT" => 2, "QUIT" => 3, "TERM" => 15, _ => throw new ArgumentException($"unknown signal {signal}", nameof(signal)) };
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (number - 1))) != 0)
            TestData.NotRun($"SIG{signal} is ignored in this test process (started in the background by a non-interactive shell), so the run it starts cannot receive it");
    }
}
