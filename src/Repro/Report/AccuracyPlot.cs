using Repro.Report;
using ScottPlot;

namespace Repro.Evaluation;

/// <summary>
/// Robust accuracy against eps as a PNG: one line per attack stage (robust accuracy after that
/// attack and the earlier ones, dashed) and the final worst case (solid, thick), x ticks at the
/// measured eps, y in percent from 0 to 100. Drawn with ScottPlot 5 through the report's plotting
/// room (<see cref="Report.Plots"/>: font, palette, ticks). It lives with the report (Report/) and
/// keeps its public name in <c>Repro.Evaluation</c>, beside the <see cref="RobustnessResult"/> it draws.
/// </summary>
public static class AccuracyPlot
{
    /// <summary>The plot of <paramref name="result"/> as PNG bytes of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    public static byte[] Png(RobustnessResult result, int width = 800, int height = 500)
    {
        var plot = Plots.Create();
        var eps = result.PerEps.Select(e => e.Eps).ToArray();
        for (int a = 0; a < result.Attacks.Count; a++)
        {
            var ys = result.PerEps.Select(e => e.Stages[a].RobustAccuracy * 100).ToArray();
            var line = plot.Add.Scatter(eps, ys, Plots.Colour(a));
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

        plot.Axes.Bottom.TickGenerator = Plots.Ticks(eps.Distinct().Select(e => (e, e.ToString("G4", System.Globalization.CultureInfo.InvariantCulture))));
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
        return Plots.Png(plot, width, height);
    }
}
