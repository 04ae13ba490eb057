using System.Diagnostics;

namespace Repro.Tests;

/// <summary>
/// The test projects take turns: a project's tests start only when no other Repro test project of this
/// machine is running. `dotnet test` on the solution runs the projects at once, and two libtorch
/// processes with an OpenMP thread per core each spin-wait at every barrier: on two cores, tests made
/// of many tiny operations ran up to ten times slower (Square's 5,000-query test 718 s against 46 s
/// alone; README, "Test time on two cores and OpenMP"). MSBuild's <c>-m:1</c> would serialise them,
/// but `dotnet test` reads no response file, so the README's plain command could not carry it.
/// The turn is an advisory lock (<c>flock</c>, through <see cref="FileShare.None"/>) on one file in
/// the temporary folder: the kernel releases it if a test host dies. REPRO_TEST_PROJECTS_AT_ONCE=1
/// lets them run together (a machine with cores to spare).
/// </summary>
public static class TestProjectTurn
{
    static FileStream? held;

    /// <summary>
    /// The lock file this user's Repro test projects take turns on. One per user: the file outlives the
    /// run, and another user's copy (mode 0644) could not be opened for writing.
    /// </summary>
    public static string LockPath => Path.Combine(Path.GetTempPath(), $"repro-test-projects-{Environment.UserName}.lock");

    /// <summary>Waits until no other test project holds the turn, then holds it until <see cref="Release"/> (or the process ends).</summary>
    /// <param name="project">This project's name, for the log.</param>
    /// <param name="log">Where the wait is said, if there was one.</param>
    public static void Take(string project, TextWriter log)
    {
        if (Environment.GetEnvironmentVariable("REPRO_TEST_PROJECTS_AT_ONCE") == "1")
        {
            log.WriteLine($"{project}: REPRO_TEST_PROJECTS_AT_ONCE=1: running beside the other test projects");
            return;
        }
        var clock = Stopwatch.StartNew();
        while (held is null)
        {
            try { held = new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) { Thread.Sleep(250); } // another test project holds the turn
            catch (UnauthorizedAccessException e)
            {
                // Waiting would never end: say so and run without the turn.
                log.WriteLine($"{project}: cannot open {LockPath} ({e.Message}): running without waiting for the other test projects");
                return;
            }
        }
        if (clock.Elapsed > TimeSpan.FromSeconds(1))
            log.WriteLine($"{project}: waited {clock.Elapsed.TotalSeconds:F0} s for the other test projects to finish (one libtorch test project at a time)");
    }

    /// <summary>Gives the turn to the next test project.</summary>
    public static void Release()
    {
        held?.Dispose();
        held = null;
    }
}
