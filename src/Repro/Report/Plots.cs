using System.Globalization;
using Repro.Data;
using ScottPlot;

namespace Repro.Report;

/// <summary>One line of a plot: its name in the legend and its points, drawn in order.</summary>
internal sealed record PlotSeries(string Name, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

/// <summary>
/// The one room that draws charts: every plotted figure of the report and of the robustness
/// evaluation is a ScottPlot 5 plot made here (<see cref="Create"/>, <see cref="Lines"/>) or in
/// <see cref="Evaluation.AccuracyPlot"/>, and written by <see cref="Save"/>. Image grids and strips are not
/// charts (<see cref="ImageGrid"/>, <see cref="ImageStrip"/>).
///
/// ScottPlot (MIT, maintained, one call from plot to PNG) renders through SkiaSharp 3.119, the very
/// version this project already ships (OxyPlot's SkiaSharp exporter 2.2.0 is built against
/// SkiaSharp 2.88, whose API 3.x changed). The SkiaSharp native build here has no fontconfig, so
/// family names do not resolve on a fresh machine: the font is registered from its file
/// (<see cref="Fonts.File"/>); without any font file ScottPlot's default typeface draws the text.
/// </summary>
internal static class Plots
{
    const string FontName = "Repro Sans";
    static readonly ScottPlot.Palettes.Category10 Palette = new();

    static readonly Lazy<bool> FontRegistered = new(() =>
    {
        string? regular = Fonts.File(bold: false), bold = Fonts.File(bold: true);
        if (regular is null) return false;
        ScottPlot.Fonts.AddFontFile(FontName, regular, bold: false, italic: false);
        if (bold is not null) ScottPlot.Fonts.AddFontFile(FontName, bold, bold: true, italic: false);
        return true;
    });

    /// <summary>An empty plot in the report's font.</summary>
    public static Plot Create()
    {
        var plot = new Plot();
        if (FontRegistered.Value) plot.Font.Set(FontName);
        return plot;
    }

    /// <summary>The <paramref name="index"/>-th colour of the report's palette (Category10, repeating).</summary>
    public static Color Colour(int index) => Palette.GetColor(index);

    /// <summary>Major ticks at exactly the given positions, with the given labels (no minor ticks).</summary>
    public static ScottPlot.TickGenerators.NumericManual Ticks(IEnumerable<(double Position, string Label)> ticks)
    {
        var generator = new ScottPlot.TickGenerators.NumericManual();
        foreach (var (position, label) in ticks) generator.AddMajor(position, label);
        return generator;
    }

    /// <summary><paramref name="plot"/> as PNG bytes of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    public static byte[] Png(Plot plot, int width, int height) => plot.GetImageBytes(width, height, ImageFormat.Png);

    /// <summary>Writes <paramref name="plot"/> as a PNG of <paramref name="width"/> x <paramref name="height"/> pixels to <paramref name="path"/>, atomically.</summary>
    public static void Save(Plot plot, string path, int width, int height)
    {
        byte[] png = Png(plot, width, height);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    /// <summary>
    /// A sweep (accuracy or success rate against eps): fractions on the y axis from
    /// <paramref name="yMin"/> to <paramref name="yMax"/> shown as percentages, x ticks at the
    /// measured values (on a log scale when <paramref name="logX"/>, for eps doubling), markers on
    /// every measured point, dashed lines where asked, the legend above the data so that no line
    /// is ever hidden. The numbers themselves are always printed in the claim's table beside it.
    /// </summary>
    /// <exception cref="ArgumentException">A series has no points, or a log axis gets an x &lt;= 0.</exception>
    public static Plot Lines(string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, bool logX = false, double yMin = 0, double yMax = 1)
    {
        if (series.Count == 0 || series.Any(s => s.Points.Count == 0)) throw new ArgumentException("every series needs at least one point", nameof(series));
        var xs = series.SelectMany(s => s.Points.Select(p => p.X)).Distinct().Order().ToList();
        if (logX && xs[0] <= 0) throw new ArgumentException("a log x axis needs positive x values", nameof(series));
        double Tx(double x) => logX ? Math.Log10(x) : x;

        var plot = Create();
        for (int s = 0; s < series.Count; s++)
        {
            var line = plot.Add.Scatter(series[s].Points.Select(p => Tx(p.X)).ToArray(), series[s].Points.Select(p => p.Y).ToArray(), Colour(s));
            line.LegendText = series[s].Name;
            line.LineWidth = 2.5f;
            line.MarkerSize = 8;
            if (series[s].Dashed) line.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.Bottom.TickGenerator = Ticks(xs.Select(x => (Tx(x), x.ToString("G3", CultureInfo.InvariantCulture))));
        plot.Axes.Left.TickGenerator = Ticks(Enumerable.Range(0, 5).Select(i => yMin + i * (yMax - yMin) / 4).Select(y => (y, (y * 100).ToString("0", CultureInfo.InvariantCulture) + "%")));
        double x0 = Tx(xs[0]), x1 = Tx(xs[^1]), margin = x1 > x0 ? (x1 - x0) * 0.04 : 1;
        plot.Axes.SetLimitsX(x0 - margin, x1 + margin);
        double yMargin = (yMax - yMin) * 0.03;
        plot.Axes.SetLimitsY(yMin - yMargin, yMax + yMargin);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Top);
        return plot;
    }

    /// <summary>Draws <see cref="Lines"/> into a PNG at <paramref name="path"/> (720 pixels wide).</summary>
    public static void SaveLines(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, bool logX = false, double yMin = 0, double yMax = 1) =>
        Save(Lines(title, xLabel, yLabel, series, logX, yMin, yMax), path, 720, 480 + 20 * series.Count);
}
