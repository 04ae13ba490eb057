using Repro.Data;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// The data and model roots the tests read (REPRO_DATA / REPRO_MODELS, else the per-user cache that
/// <c>repro run all</c> fills). Tests never download (test.runsettings sets REPRO_OFFLINE=1).
/// </summary>
public static class TestData
{
    public static ReproPaths Paths { get; } = ReproPaths.Resolve();

    /// <summary>
    /// The path of data a test reads; when it is absent (a fresh machine) the test is reported
    /// NOT RUN with the path and how to get it (printed, counted as skipped: never a pass).
    /// </summary>
    public static string Require(string relative)
    {
        string path = Path.Combine(Paths.DataRoot, relative);
        if (!Directory.Exists(path) && !File.Exists(path))
            NotRun($"test data not present: {path}. To fix: run 'repro run all' or 'repro fetch' with network, or set {ReproPaths.DataVariable} to a data root that has it (see README: data and weights)");
        return path;
    }

    /// <summary>Skips the test loudly: "NOT RUN — why, and how to fix it" on stderr and as the skip reason.</summary>
    public static void NotRun(string reason)
    {
        TestContext.Error.WriteLine($"NOT RUN: {reason}");
        Assert.Ignore($"NOT RUN — {reason}");
    }

    /// <summary>
    /// This test process's own folder, directly under the system's temporary folder (removed when the run
    /// ends). Not inside a shared "repro-tests/" folder: the first user to create that owns it, and every
    /// other user's run (a shared runner, after an earlier sudo) was locked out of it.
    /// </summary>
    static readonly string runFolder = Path.Combine(Path.GetTempPath(), $"repro-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>A new empty folder for one test, inside this run's folder.</summary>
    public static string TempFolder()
    {
        string dir = Path.Combine(runFolder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Removes this run's temporary folders (a full run writes about 230 MB: checkpoints, models, images)
    /// unless REPRO_KEEP_TEST_FILES=1 asks to keep them for a look after a failure.
    /// </summary>
    public static void RemoveTempFolders()
    {
        if (Environment.GetEnvironmentVariable("REPRO_KEEP_TEST_FILES") == "1")
        {
            TestContext.Progress.WriteLine($"test files kept in {runFolder} (REPRO_KEEP_TEST_FILES=1)");
            return;
        }
        try { if (Directory.Exists(runFolder)) Directory.Delete(runFolder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { TestContext.Progress.WriteLine($"could not remove {runFolder}: {e.Message}"); }
    }
}
