using ScottPlot;

namespace Repro.Evaluation;

/// <summary>
/// Robust accuracy against eps as a PNG: one line per attack stage (robust accuracy after that
/// attack and the earlier ones, dashed) and the final worst case (solid, thick), x ticks at the
/// measured eps, y in percent from 0 to 100.
///
/// Drawn with ScottPlot 5 (MIT, maintained, one call from plot to PNG) rather than by extending the
/// hand-written <c>Report/LinePlot</c> (which stays for the existing figures). ScottPlot over
/// OxyPlot 2.2: ScottPlot 5.1.59 renders through SkiaSharp 3.119 — the very version this project
/// already ships — while OxyPlot's SkiaSharp exporter 2.2.0 is built against SkiaSharp 2.88, whose
/// API 3.x changed. The SkiaSharp native build here has no fontconfig, so the font is registered
/// from its file (<see cref="Report.Fonts.File"/>).
/// </summary>
public static class AccuracyPlot
{
    const string FontName = "Repro Sans";
    static readonly Lazy<bool> FontRegistered = new(() =>
    {
        string? regular = Report.Fonts.File(bold: false), bold = Report.Fonts.File(bold: true);
        if (regular is null) return false;
        ScottPlot.Fonts.AddFontFile(FontName, regular, bold: false, italic: false);
        if (bold is not null) ScottPlot.Fonts.AddFontFile(FontName, bold, bold: true, italic: false);
        return true;
    });

    /// <summary>The plot of <paramref name="result"/> as PNG bytes of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    public static byte[] Png(RobustnessResult result, int width = 800, int height = 500)
    {
        var plot = new Plot();
        if (FontRegistered.Value) plot.Font.Set(FontName);
        var eps = result.PerEps.Select(e => e.Eps).ToArray();
        var palette = new ScottPlot.Palettes.Category10();
        for (int a = 0; a < result.Attacks.Count; a++)
        {
            var ys = result.PerEps.Select(e => e.Stages[a].RobustAccuracy * 100).ToArray();
            var line = plot.Add.Scatter(eps, ys, palette.GetColor(a));
            line.LegendText = $"after {result.Attacks[a].Name} ({result.Attacks[a].Budget})";
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = 1.5f;
            line.MarkerSize = 6;
        }
        var final = plot.Add.Scatter(eps, result.PerEps.Select(e => e.RobustAccuracy * 100).ToArray(), Colors.Black);
        final.LegendText = "robust accuracy (worst case over all attacks)";
        final.LineWidth = 3;
        final.MarkerSize = 9;
        var clean = plot.Add.HorizontalLine(result.CleanAccuracy * 100, 1, Colors.Gray, LinePattern.Dotted);
        clean.LegendText = $"clean accuracy {Percent.Of(result.CleanAccuracy)}";

        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (double e in eps.Distinct()) ticks.AddMajor(e, e.ToString("G4", System.Globalization.CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsY(-2, 102);
        double span = eps.Max() - eps.Min();
        plot.Axes.SetLimitsX(eps.Min() - Math.Max(span, 1) * 0.05, eps.Max() + Math.Max(span, 1) * 0.05);
        plot.Title($"{result.Model}: robust accuracy vs eps ({RobustnessTable.Norm(result.Norm)}, {result.Examples} images)");
        plot.XLabel($"eps ({RobustnessTable.Norm(result.Norm)})");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Alignment.UpperRight);
        var fired = result.FiredFlags.Select(f => f.Name).Distinct().ToList();
        if (fired.Count > 0)
        {
            var note = plot.Add.Text($"sanity flags: {string.Join(", ", fired)}", eps.Min(), 4);
            note.LabelFontColor = Colors.DarkRed;
            note.LabelFontSize = 13;
        }
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }
}
