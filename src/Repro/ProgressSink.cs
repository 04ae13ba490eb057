namespace Repro;

/// <summary>What a progress count counts.</summary>
internal enum ProgressUnit
{
    /// <summary>Items (images, steps, samples): shown as "done/total".</summary>
    Items,
    /// <summary>Bytes of a download: shown as size and rate; the total may be unknown (0).</summary>
    Bytes,
}

/// <summary>
/// Makes the progress callback <c>(done, total)</c> of one named task. The library reports progress
/// only through such callbacks and never draws: the application decides whether and how to show it
/// (the command draws bars on a terminal, src/Repro.Cli/Cli/TerminalProgress.cs, and stays silent in logs).
/// </summary>
/// <param name="label">What the task is, in a few words ("PGD on resnet50").</param>
/// <param name="unit">What the counts count.</param>
internal delegate Action<long, long> ProgressSink(string label, ProgressUnit unit);

/// <summary>Ready-made <see cref="ProgressSink"/>s.</summary>
internal static class ProgressSinks
{
    /// <summary>Shows nothing (the default of every library entry that takes a sink).</summary>
    public static readonly ProgressSink None = (_, _) => static (_, _) => { };
}
