using System.Diagnostics;

namespace Repro.Report;

/// <summary>
/// A one-line progress bar with time remaining on stderr, redrawn in place; silent when stderr is
/// not a terminal (CI logs, pipes), so logs hold only the results. With <c>bytes: true</c> it
/// counts bytes and shows size and rate ("12.0/162.2 MB, 8.1 MB/s"), and still draws (size and
/// rate, no bar) when the total is unknown.
/// </summary>
internal sealed class ConsoleProgress(string label, bool bytes = false)
{
    readonly Stopwatch clock = Stopwatch.StartNew();
    long lastDraw = -1000;
    bool finished;
    public static bool Enabled { get; set; } = !Console.IsErrorRedirected;

    public void Report(long done, long total)
    {
        if (!Enabled || finished || (total <= 0 && !bytes)) return;
        long now = clock.ElapsedMilliseconds;
        bool complete = total > 0 && done >= total;
        if (!complete && now - lastDraw < 200) return;
        lastDraw = now;
        double fraction = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 0;
        var remaining = fraction > 0 ? TimeSpan.FromMilliseconds(now * (1 - fraction) / fraction) : TimeSpan.Zero;
        int width = 30, filled = (int)(fraction * width);
        string bar = total > 0 ? $"[{new string('#', filled)}{new string('.', width - filled)}] {fraction,4:P0} " : "";
        string count = bytes
            ? $"{Megabytes(done)}{(total > 0 ? "/" + Megabytes(total) : "")} MB, {Megabytes((long)(done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)))} MB/s"
            : $"{done}/{total}";
        string eta = total > 0 ? $" eta {remaining:mm\\:ss}" : "";
        Console.Error.Write($"\r{label} {bar}{count}{eta}   ");
        if (complete)
        {
            Console.Error.WriteLine();
            finished = true;
        }
    }

    static string Megabytes(long b) => (b / (1024.0 * 1024.0)).ToString("F1");
}
