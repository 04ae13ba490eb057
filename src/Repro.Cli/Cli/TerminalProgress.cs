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
/// total (or at <see cref="Finish"/>, for one that stops early).
/// </summary>
internal static class TerminalProgress
{
    static readonly Lock Gate = new();
    static Bar? current;
    static IAnsiConsole? terminal;

    /// <summary>Where bars are drawn: stderr (tests may give a console of their own).</summary>
    public static IAnsiConsole Terminal
    {
        get => terminal ??= AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        set => terminal = value;
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
            display = Task.Run(() => Terminal.Progress().AutoClear(false).HideCompleted(false).Columns(columns).Start(context =>
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
