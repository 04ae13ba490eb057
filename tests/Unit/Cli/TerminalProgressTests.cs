using Repro.Cli;
using Spectre.Console;

namespace Repro.Tests.Unit.Cli;

[NonParallelizable]
public class TerminalProgressTests
{
    static (StringWriter Screen, IAnsiConsole Console) Terminal()
    {
        var screen = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(screen), Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes, ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 120;
        return (screen, console);
    }

    [TearDown]
    public void Restore() => (TerminalProgress.Enabled, TerminalProgress.Terminal) = (!Console.IsErrorRedirected, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }));

    [Test]
    public void OnATerminalTheLibrarysCallbacksDrawABarWithCountAndShare()
    {
        var (screen, console) = Terminal();
        (TerminalProgress.Enabled, TerminalProgress.Terminal) = (true, console);

        var report = TerminalProgress.Sink("PGD on resnet50", ProgressUnit.Items);
        for (int i = 1; i <= 40; i++) report(i, 40);
        var download = TerminalProgress.For("cifar-10 [binary]", ProgressUnit.Bytes);
        download(3 << 20, 0);
        download(6 << 20, 6 << 20);

        string drawn = screen.ToString();
        Assert.That(drawn, Does.Contain("PGD on resnet50").And.Contain("40/40").And.Contain("100%"), "the finished bar stays on screen");
        Assert.That(drawn, Does.Contain("cifar-10 [binary]").And.Contain("6.0/6.0 MB"), "labels are text, not markup; downloads count megabytes");
    }

    [Test]
    public void OffATerminalNothingIsDrawn()
    {
        var (screen, console) = Terminal();
        (TerminalProgress.Enabled, TerminalProgress.Terminal) = (false, console);

        var report = TerminalProgress.For("attack");
        for (int i = 1; i <= 10; i++) report(i, 10);
        TerminalProgress.Sink("download", ProgressUnit.Bytes)(100, 0);
        TerminalProgress.Finish();

        Assert.That(screen.ToString(), Is.Empty, "logs, pipes and CI get no bars");
    }

    [Test]
    public void ABarThatStopsEarlyIsEndedByTheNextOrByFinish()
    {
        var (screen, console) = Terminal();
        (TerminalProgress.Enabled, TerminalProgress.Terminal) = (true, console);

        TerminalProgress.For("first")(3, 10);   // an attack that stopped early: never reaches its total
        TerminalProgress.For("second")(5, 10);  // ends "first"
        TerminalProgress.Finish();              // ends "second"

        string drawn = screen.ToString();
        Assert.That(drawn, Does.Contain("first").And.Contain("3/10").And.Contain("second").And.Contain("5/10"));
    }
}
