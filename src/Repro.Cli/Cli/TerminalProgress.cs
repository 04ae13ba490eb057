using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Repro.Cli;

/// <summary>
/// The command's progress bars, drawn by Spectre.Console on stderr and fed by the library's progress
/// callbacks (<see cref="ProgressSink"/>, <c>Action&lt;long, long&gt;</c>): a description, a bar, the
/// share done, the count ("120/500", or "12.0/162.2 MB" and the rate for a download, whose total may
/// be unknown) and the time remaining. Silent when stderr is not a terminal (logs, pipes, CI, tests):
/// the output then holds only the results, as it always has. One bar is on screen at a time: a new
/// task's first report ends the bar before it, and a task ends its bar when its count reaches the
/// total (or at <see cref="Finish"/>, for one that stops early). A line the command or the library
/// writes to stdout or stderr while a bar is drawn ends the bar first (its last state stays and the
/// line follows it), so that a redraw never overwrites output.
/// </summary>
internal static class TerminalProgress
{
    static readonly Lock Gate = new();
    static Bar? current;
    static IAnsiConsole? terminal;
    static bool guarded;

    /// <summary>Where bars are drawn: stderr (tests may give a console of their own).</summary>
    public static IAnsiConsole Terminal
    {
        get
        {
            lock (Gate)
            {
                if (terminal is not null) return terminal;
                // The bars write to stderr itself; everything else written to stdout and stderr ends the bar first.
                terminal = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                if (!guarded)
                {
                    Console.SetOut(new EndsBarFirst(Console.Out));
                    Console.SetError(new EndsBarFirst(Console.Error));
                    guarded = true;
                }
                return terminal;
            }
        }
        set
        {
            lock (Gate) terminal = value;
        }
    }

    /// <summary>Whether bars are drawn: while stderr is a terminal.</summary>
    public static bool Enabled { get; set; } = !Console.IsErrorRedirected;

    /// <summary>The sink the command hands to the library (experiments, downloads).</summary>
    public static ProgressSink Sink { get; } = (label, unit) => For(label, unit);

    /// <summary>The callback <c>(done, total)</c> of one task, drawn as a bar labelled <paramref name="label"/>; a no-op when bars are off.</summary>
    public static Action<long, long> For(string label, ProgressUnit unit = ProgressUnit.Items) =>
        Enabled ? new Bar(label, unit).Report : static (_, _) => { };

    /// <summary>Ends the bar on screen, if any (its last state stays).</summary>
    public static void Finish()
    {
        Bar? bar;
        lock (Gate) bar = current;
        bar?.Stop();
    }

    /// <summary>A writer that ends the bar on screen before it writes.</summary>
    sealed class EndsBarFirst(TextWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;
        public override IFormatProvider FormatProvider => inner.FormatProvider;
        public override void Write(char value) { Finish(); inner.Write(value); }
        public override void Write(string? value) { Finish(); inner.Write(value); }
        public override void Write(char[] buffer, int index, int count) { Finish(); inner.Write(buffer, index, count); }
        public override void WriteLine() { Finish(); inner.WriteLine(); }
        public override void WriteLine(string? value) { Finish(); inner.WriteLine(value); }
        public override void Flush() => inner.Flush();
    }

    sealed class Bar(string label, ProgressUnit unit)
    {
        readonly ProgressUnit unit = unit;
        readonly TaskCompletionSource started = new(), stop = new();
        ProgressTask? task;
        Task? display;
        bool finished;
        long done, total;

        public void Report(long done, long total)
        {
            if (finished || (total <= 0 && unit == ProgressUnit.Items)) return;
            (this.done, this.total) = (done, total);
            if (task is null) Start();
            bool complete = total > 0 && done >= total;
            task!.IsIndeterminate = total <= 0;
            task.MaxValue = Math.Max(1, total > 0 ? total : done);
            task.Value = Math.Min(done, task.MaxValue);
            if (complete) Stop();
        }

        void Start()
        {
            Bar? before;
            lock (Gate) (before, current) = (current, this);
            before?.Stop();
            ProgressColumn[] columns = unit == ProgressUnit.Bytes
                ? [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new CountColumn(this), new TransferSpeedColumn(), new RemainingTimeColumn()]
                : [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new CountColumn(this), new RemainingTimeColumn()];
            var console = Terminal;
            display = Task.Run(() => console.Progress().AutoClear(false).HideCompleted(false).Columns(columns).Start(context =>
            {
                task = context.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total));
                started.SetResult();
                stop.Task.Wait();
                context.Refresh();
            }));
            started.Task.Wait();
        }

        public void Stop()
        {
            if (finished) return;
            finished = true;
            stop.TrySetResult();
            display?.Wait();
            lock (Gate)
                if (current == this) current = null;
        }

        /// <summary>"done/total", or megabytes for a download ("12.0/162.2 MB", "12.0 MB" when the total is unknown).</summary>
        sealed class CountColumn(Bar bar) : ProgressColumn
        {
            public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) => new Text(
                bar.unit == ProgressUnit.Items ? $"{bar.done}/{bar.total}"
                : $"{Megabytes(bar.done)}{(bar.total > 0 ? "/" + Megabytes(bar.total) : "")} MB");

            static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture);
        }
    }
}
