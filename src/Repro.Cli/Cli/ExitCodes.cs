namespace Repro.Cli;

/// <summary>
/// The exit codes of every <c>repro</c> command, documented in the README and in <c>--help</c>.
/// One list, so that a script can tell "a claim failed" from "the input was wrong" from "the
/// machine is at fault".
/// </summary>
internal static class ExitCodes
{
    /// <summary>Everything that ran succeeded (for <c>run</c>: every claim that ran held).</summary>
    public const int Ok = 0;
    /// <summary>At least one claim that ran did not hold.</summary>
    public const int ClaimFailed = 1;
    /// <summary>Bad usage or input: one line on stderr names the argument or file; nothing half-written.</summary>
    public const int BadInput = 2;
    /// <summary><c>run</c>: no claim could run (every one NOT RUN: data or weights absent); the report says what is missing and how to get it.</summary>
    public const int NothingRan = 3;
    /// <summary>A fault of the machine (disk full, folder not writable, network unreachable, native library missing): one line names it.</summary>
    public const int EnvironmentFault = 4;
    /// <summary>
    /// A fault of Repro itself (an unexpected exception): one line "internal error: ... (run with
    /// --verbose for details)". 70 is sysexits' EX_SOFTWARE; never 1, which means a claim failed.
    /// </summary>
    public const int InternalError = 70;
    /// <summary>
    /// <c>robustness</c> stopped on request (SIGTERM, or SIGUSR1: Slurm's warning before a time limit
    /// or preemption) after committing its running batch: run the same command again to resume
    /// ("requeue me"). 75 is sysexits' EX_TEMPFAIL.
    /// </summary>
    public const int Requeue = 75;
}
