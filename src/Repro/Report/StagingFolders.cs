using System.Collections.Concurrent;

namespace Repro.Report;

/// <summary>
/// The staging folders this process has open (<see cref="ReportWriter.StagingFolder"/>), so that a run
/// stopped by Ctrl-C or SIGTERM (a CI timeout sends it) can still leave its output folder as it was:
/// <see cref="DiscardAll"/> removes each one, and the output folder too where the run created it and it
/// is empty. A run ended any other way discards its own folder (<see cref="Discard"/>). SIGKILL cannot be
/// caught: what it leaves is named by the next run, and <c>--overwrite</c> removes it.
/// </summary>
internal static class StagingFolders
{
    /// <summary>Open staging folder → the output folder this process created for it (null when it was there before).</summary>
    static readonly ConcurrentDictionary<string, string?> open = new();

    public static void Add(string staging, string? createdOutputFolder) => open[staging] = createdOutputFolder;

    /// <summary>Forgets a staging folder its owner has removed itself.</summary>
    public static void Forget(string staging) => open.TryRemove(staging, out _);

    /// <summary>
    /// Removes a staging folder (whatever is left in it) and forgets it; the output folder too where this
    /// process created it and nothing was published into it (a failed run leaves no empty folder behind).
    /// </summary>
    public static void Discard(string staging)
    {
        open.TryRemove(staging, out string? created);
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        try
        {
            if (created is not null && Directory.Exists(created) && !Directory.EnumerateFileSystemEntries(created).Any()) Directory.Delete(created);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* left as it is */ }
    }

    /// <summary>Best effort, for a signal handler: never throws (the work may still be writing into a folder meanwhile).</summary>
    public static void DiscardAll()
    {
        foreach (var (staging, created) in open.ToArray())
        {
            for (int attempt = 0; attempt < 3 && Directory.Exists(staging); attempt++)
            {
                try { Directory.Delete(staging, recursive: true); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Thread.Sleep(50); }
            }
            try
            {
                if (created is not null && Directory.Exists(created) && !Directory.EnumerateFileSystemEntries(created).Any()) Directory.Delete(created);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* left as it is */ }
            open.TryRemove(staging, out _);
        }
    }
}
