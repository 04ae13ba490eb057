using System.Diagnostics;

namespace Repro.Report;

/// <summary>
/// A one-line progress bar with time remaining on stderr, redrawn in place; silent when stderr is
/// not a terminal (CI logs, pipes), so logs hold only the results.
/// </summary>
public sealed class ConsoleProgress(string label)
{
    readonly Stopwatch clock = Stopwatch.StartNew();
    long lastDraw = -1000;
    public static bool Enabled { get; set; } = !Console.IsErrorRedirected;

    public void Report(long done, long total)
    {
        if (!Enabled || total <= 0) return;
        long now = clock.ElapsedMilliseconds;
        if (done < total && now - lastDraw < 200) return;
        lastDraw = now;
        double fraction = Math.Clamp((double)done / total, 0, 1);
        var remaining = fraction > 0 ? TimeSpan.FromMilliseconds(now * (1 - fraction) / fraction) : TimeSpan.Zero;
        int width = 30, filled = (int)(fraction * width);
        Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('.', width - filled)}] {fraction,4:P0} {done}/{total} eta {remaining:mm\\:ss}   ");
        if (done >= total) Console.Error.WriteLine();
    }
}
