using Repro.Data;
using SkiaSharp;

namespace Repro.Report;

/// <summary>One line of a plot: its name in the legend and its points, drawn in order.</summary>
internal sealed record PlotSeries(string Name, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

/// <summary>
/// A small line plot for the report (a sweep of accuracy or success rate against eps): fractions on
/// the y axis shown as percentages, x ticks at the measured values (log-spaced when asked, for eps
/// doubling), markers on every measured point, a legend. Nothing more: the numbers themselves are
/// always printed in the claim's table beside it.
/// </summary>
internal static class LinePlot
{
    const int Width = 720, PlotHeight = 360, Left = 70, Right = 24, TitleHeight = 34, LegendLine = 18, Bottom = 56;
    static readonly SKColor[] Palette = [new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c), new(0x94, 0x67, 0xbd), new(0xff, 0x7f, 0x0e)];

    public static SKBitmap Render(string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, bool logX = false, double yMin = 0, double yMax = 1)
    {
        if (series.Count == 0 || series.Any(s => s.Points.Count == 0)) throw new ArgumentException("every series needs at least one point", nameof(series));
        var xs = series.SelectMany(s => s.Points.Select(p => p.X)).Distinct().Order().ToList();
        if (logX && xs[0] <= 0) throw new ArgumentException("a log x axis needs positive x values", nameof(series));
        double Tx(double x) => logX ? Math.Log(x) : x;
        double x0 = Tx(xs[0]), x1 = Tx(xs[^1]);
        if (x1 == x0) { x0 -= 1; x1 += 1; }
        float Px(double x) => (float)(Left + (Tx(x) - x0) / (x1 - x0) * (Width - Left - Right));
        // Title, then the legend (one line per series) above the plot, so that no line is ever hidden.
        int top = TitleHeight + series.Count * LegendLine + 14, height = top + PlotHeight + Bottom;
        float Py(double y) => (float)(height - Bottom - (y - yMin) / (yMax - yMin) * (height - top - Bottom));

        var bitmap = new SKBitmap(new SKImageInfo(Width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(Fonts.Regular, 12f);
        using var titleFont = new SKFont(Fonts.Bold, 14f);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1 };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f, IsAntialias = true };

        canvas.DrawText(title, 12, 22, SKTextAlign.Left, titleFont, ink);
        for (int i = 0; i <= 4; i++)
        {
            double y = yMin + i * (yMax - yMin) / 4;
            canvas.DrawLine(Left, Py(y), Width - Right, Py(y), grid);
            canvas.DrawText($"{y * 100:0}%", Left - 6, Py(y) + 4, SKTextAlign.Right, font, ink);
        }
        foreach (double x in xs)
        {
            canvas.DrawLine(Px(x), top, Px(x), height - Bottom, grid);
            canvas.DrawText($"{x:G3}", Px(x), height - Bottom + 16, SKTextAlign.Center, font, ink);
        }
        canvas.DrawLine(Left, height - Bottom, Width - Right, height - Bottom, axis);
        canvas.DrawLine(Left, top, Left, height - Bottom, axis);
        canvas.DrawText(xLabel, (Left + Width - Right) / 2f, height - 14, SKTextAlign.Center, font, ink);
        canvas.Save();
        canvas.RotateDegrees(-90);
        canvas.DrawText(yLabel, -(top + height - Bottom) / 2f, 18, SKTextAlign.Center, font, ink);
        canvas.Restore();

        for (int s = 0; s < series.Count; s++)
        {
            var color = Palette[s % Palette.Length];
            using var line = new SKPaint { Color = color, StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            if (series[s].Dashed) line.PathEffect = SKPathEffect.CreateDash([8f, 5f], 0);
            using var dot = new SKPaint { Color = color, IsAntialias = true };
            using var path = new SKPath();
            var points = series[s].Points;
            path.MoveTo(Px(points[0].X), Py(points[0].Y));
            foreach (var p in points.Skip(1)) path.LineTo(Px(p.X), Py(p.Y));
            canvas.DrawPath(path, line);
            foreach (var p in points) canvas.DrawCircle(Px(p.X), Py(p.Y), 4, dot);
            float ly = TitleHeight + s * LegendLine + 6;
            canvas.DrawLine(Left, ly, Left + 24, ly, line);
            canvas.DrawText(series[s].Name, Left + 30, ly + 4, SKTextAlign.Left, font, ink);
        }
        return bitmap;
    }

    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, bool logX = false, double yMin = 0, double yMax = 1)
    {
        using var bitmap = Render(title, xLabel, yLabel, series, logX, yMin, yMax);
        ImageFile.SavePng(bitmap, path);
    }
}
