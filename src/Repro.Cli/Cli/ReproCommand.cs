using System.CommandLine;
using System.Runtime.InteropServices;
using Repro.Report;
using Repro.Data.Assets;
using Repro.Runtime;

namespace Repro.Cli;

/// <summary>
/// Entry point of the <c>repro</c> command. Commands parse arguments and call the library; they
/// hold no logic of their own. Exit codes (<see cref="ExitCodes"/>): 0 ok (every claim that ran passed),
/// 1 a claim failed, 2 bad usage or input, 3 nothing could run, 4 environment fault, 70 internal error;
/// every failure is one line naming the culprit on stderr (<see cref="Failure"/>), no partial output.
/// </summary>
internal static class ReproCommand
{
    public const int Ok = ExitCodes.Ok, ClaimFailed = ExitCodes.ClaimFailed, BadInput = ExitCodes.BadInput;

    /// <summary>While set, SIGTERM calls it instead of ending the process (a command that stops cleanly after its running batch).</summary>
    public static volatile Action? GracefulStop;

    /// <summary>Runs the command line; every exception ends here as one line on stderr and its exit code (<see cref="Failure"/>).</summary>
    public static int Run(string[] args)
    {
        // Ctrl-C and SIGTERM (a CI timeout) end the process as usual, but first take our staging folders
        // away, so that a stopped run leaves its output folder as it was (README: exit codes and output).
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => StagingFolders.DiscardAll());
        // A command that can stop cleanly (robustness: after the running batch) takes SIGTERM over while it runs.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            if (GracefulStop is { } stop) { c.Cancel = true; stop(); }
            else StagingFolders.DiscardAll();
        });
        try { return Invoke(args); }
        catch (Exception e) { return Failure.Report(e, verbose: args.Contains("--verbose"), Console.Error); }
    }

    static int Invoke(string[] args)
    {
        // A write past a file-size limit (ulimit -f) fails with "File too large" (exit 4, staging removed)
        // instead of SIGXFSZ killing the process with a file half-written.
        ResourceLimits.IgnoreFileSizeSignal();
        // The benchmark measures with the malloc settings off, then on; everything else starts with them on,
        // unless an address-space limit is set (then they give way, and the output says so).
        if (args.FirstOrDefault() != "bench") GlibcMallocTuning.Apply();
        if (GlibcMallocTuning.GaveWay is string gaveWay && !args.Contains("--help") && !args.Contains("-h")) Console.WriteLine($"note: {gaveWay}");
        try { OneDnnConfiguration.Apply(); } // before libtorch's first operation (see Runtime/OneDnnConfiguration)
        catch (ReproInputException e) { Console.Error.WriteLine($"repro: {e.Message}"); return BadInput; }
        catch (ReproEnvironmentException e) { Console.Error.WriteLine($"repro: {e.Message}"); return ExitCodes.EnvironmentFault; }
        ArithmeticCheck.Log = Console.Out; // each model's self-check line is part of the command's output
        var options = new GlobalOptions();
        // A plain Command named "repro" rather than RootCommand, whose name is the entry assembly's (Repro.Cli, not the tool's command name).
        var root = new Command("repro", "Repro: reproduce 'Adversarial examples and human-ML alignment' — attack, explain and harden image classifiers. " +
                                   "Exit codes: 0 ok, 1 a claim failed, 2 bad usage or input, 3 no claim could run, 4 environment fault " +
                                   "(disk full, not writable, out of memory, native library), 70 internal error, 75 stopped on request: run again to resume (requeue me); every failure is one line on stderr");
        root.Options.Add(new System.CommandLine.Help.HelpOption());
        root.Options.Add(new VersionOption());
        options.AddTo(root);
        root.Subcommands.Add(RunCommand.Create(options));
        root.Subcommands.Add(EvalCommand.Create(options));
        root.Subcommands.Add(AttackCommand.Create(options));
        root.Subcommands.Add(ExplainCommand.Create(options));
        root.Subcommands.Add(BenchCommand.Create(options));
        root.Subcommands.Add(FetchCommand.Create(options));
        root.Subcommands.Add(TrainCommandLine.Create(options));
        root.Subcommands.Add(RobustnessCommand.Create(options));
        root.Subcommands.Add(RobustnessCommand.CreateMerge(options));
        root.Subcommands.Add(DoctorCommand.Create(options));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line, like every other failure.
            Console.Error.WriteLine($"repro: {string.Join("; ", parsed.Errors.Select(e => e.Message.ReplaceLineEndings(" ")))} (see 'repro --help')");
            return BadInput;
        }
        // Commands that fetch on first use switch it on for their own run only (the library default is never).
        var (onDemand, offline) = (AssetStore.OnDemand, AssetStore.Offline);
        try
        {
            // Exceptions go to Run, not to System.CommandLine's handler (which prints a stack trace and exits 1).
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        finally
        {
            TerminalProgress.Finish(); // a bar a failure or a stop left open, before the failure's line
            if (!ReferenceEquals(AssetStore.OnDemand, onDemand)) AssetStore.OnDemand?.Dispose();
            (AssetStore.OnDemand, AssetStore.Offline) = (onDemand, offline);
        }
    }

    /// <summary>
    /// A command body. Failures propagate to <see cref="Run"/>, which reports every one the same way
    /// (<see cref="Failure"/>: one line on stderr and a documented exit code).
    /// </summary>
    public static Func<ParseResult, int> Guarded(Func<ParseResult, int> body) => body;
}
