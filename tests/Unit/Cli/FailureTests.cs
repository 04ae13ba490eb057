using Repro.Cli;

namespace Repro.Tests.Unit.Cli;

/// <summary>Every kind of failure: its exit code and one line; the stack trace only with --verbose.</summary>
public class FailureTests
{
    static IEnumerable<TestCaseData> Kinds()
    {
        yield return new TestCaseData(new ReproInputException("image x.jpg: bad"), ExitCodes.BadInput, "image x.jpg: bad").SetName("{m}(input)");
        yield return new TestCaseData(new ReproEnvironmentException("cannot write y.png: disk"), ExitCodes.EnvironmentFault, "cannot write y.png").SetName("{m}(environment)");
        yield return new TestCaseData(new IOException("No space left on device : '/o/a.png'", 28), ExitCodes.EnvironmentFault, "disk full").SetName("{m}(ENOSPC)");
        yield return new TestCaseData(new IOException("disk", unchecked((int)0x80070070)), ExitCodes.EnvironmentFault, "disk full").SetName("{m}(ERROR_DISK_FULL)");
        yield return new TestCaseData(new IOException("Input/output error : '/o'", 5), ExitCodes.EnvironmentFault, "input/output error").SetName("{m}(EIO)");
        yield return new TestCaseData(new UnauthorizedAccessException("Access to the path '/o' is denied."), ExitCodes.EnvironmentFault, "permission denied").SetName("{m}(EACCES)");
        yield return new TestCaseData(new FileNotFoundException("Could not find file '/in/a.jpg'."), ExitCodes.BadInput, "/in/a.jpg").SetName("{m}(missing file)");
        yield return new TestCaseData(ThrownByTheRuntime(() => _ = new byte[int.MaxValue]), ExitCodes.EnvironmentFault, "out of memory").SetName("{m}(out of memory)");
        // Seen under prlimit --as=1.5 GB: an assembly of Repro that cannot be mapped is the machine's fault, not a missing input file.
        yield return new TestCaseData(new FileNotFoundException("Could not load file or assembly 'System.Text.RegularExpressions, Version=8.0.0.0'. The system cannot find the file specified.\n"),
            ExitCodes.EnvironmentFault, "ulimit -v").SetName("{m}(assembly not mapped)");
        yield return new TestCaseData(new FileLoadException("Could not load file or assembly 'Repro'."), ExitCodes.EnvironmentFault, "could not be loaded").SetName("{m}(assembly load)");
        // What the file APIs throw for a path they cannot take ('', a NUL byte): the user's input.
        yield return new TestCaseData(ThrownByTheRuntime(() => Path.GetFullPath("")), ExitCodes.BadInput, "not a usable path").SetName("{m}(empty path)");
        yield return new TestCaseData(ThrownByTheRuntime(() => Directory.CreateDirectory("")), ExitCodes.BadInput, "not a usable path").SetName("{m}(empty folder)");
        yield return new TestCaseData(new DllNotFoundException("libLibTorchSharp.so"), ExitCodes.EnvironmentFault, "native library").SetName("{m}(native library)");
        yield return new TestCaseData(new AggregateException(new ReproInputException("inner x.png")), ExitCodes.BadInput, "inner x.png").SetName("{m}(aggregate)");
        // Parallel.For wraps what its worker threads could not start with (seen under ulimit -n 80).
        yield return new TestCaseData(new TaskSchedulerException(new InsufficientMemoryException("no thread")), ExitCodes.EnvironmentFault, "out of memory").SetName("{m}(task scheduler)");
        yield return new TestCaseData(new InvalidOperationException("a bug\nsecond line"), ExitCodes.InternalError, "internal error: InvalidOperationException: a bug (run with --verbose for details)").SetName("{m}(internal)");
        yield return new TestCaseData(ThrownByTheRuntime(() => _ = ((string)null!).Length), ExitCodes.InternalError, "internal error").SetName("{m}(null reference)");
    }

    /// <summary>The exception the runtime itself throws (OutOfMemoryException, NullReferenceException are the runtime's to create).</summary>
    static Exception ThrownByTheRuntime(Action action)
    {
        try { action(); }
        catch (Exception e) { return e; }
        throw new InvalidOperationException("the action was expected to throw");
    }

    [TestCaseSource(nameof(Kinds))]
    public void EachKindHasItsCodeAndOneLine(Exception exception, int code, string message)
    {
        var (actual, line) = Failure.Classify(exception);
        Assert.That(actual, Is.EqualTo(code));
        Assert.That(line, Does.Contain(message));
        Assert.That(line, Does.Not.Contain("\n"));
        Assert.That(code, Is.Not.EqualTo(ExitCodes.ClaimFailed), "1 means a claim failed, never a crash");
    }

    [Test]
    public void AFileNameWithALineBreakStaysOneLine()
    {
        var (_, line) = Failure.Classify(new ReproInputException("cannot decode image /in/new\nline.jpg: corrupt"));
        Assert.That(line, Is.EqualTo("cannot decode image /in/new\\nline.jpg: corrupt"));
    }

    [Test]
    public void TheStackTraceOnlyWithVerbose()
    {
        Exception thrown;
        try { throw new InvalidOperationException("boom"); }
        catch (Exception e) { thrown = e; }
        var quiet = new StringWriter();
        Assert.That(Failure.Report(thrown, verbose: false, quiet), Is.EqualTo(ExitCodes.InternalError));
        Assert.That(quiet.ToString().TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(quiet.ToString(), Does.StartWith("repro: internal error: InvalidOperationException: boom (run with --verbose for details)"));
        var verbose = new StringWriter();
        Failure.Report(thrown, verbose: true, verbose);
        Assert.That(verbose.ToString(), Does.Contain("   at ").And.Contain(nameof(TheStackTraceOnlyWithVerbose)));
    }
}
