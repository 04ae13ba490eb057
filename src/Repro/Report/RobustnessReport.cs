using Repro.Evaluation;

namespace Repro.Report;

/// <summary>
/// Writes a robustness evaluation into a folder, all files at once (staged, then moved into place):
/// records.parquet and manifest.json (<see cref="Application.Jobs.RobustnessJob"/>), robustness.tsv (the table), robustness.png (accuracy against eps) and robustness.html (a
/// self-contained report through <see cref="HtmlWriter"/>: run information with seed and versions, the table with the sanity flags
/// beside every number, what each flag measured, and the plot, <see cref="AccuracyPlot"/>).
/// </summary>
internal static class RobustnessReport
{
    public const string Table = "robustness.tsv", Plot = "robustness.png", Html = "robustness.html";

    /// <summary>Writes the table, plot and report of <paramref name="result"/> (none when null: a shard without examples) and whatever <paramref name="extra"/> writes into the staging folder, all at once.</summary>
    public static void Write(RobustnessResult? result, RunInfo run, string outputFolder, Action<string>? extra = null)
    {
        string staging = ReportWriter.StagingFolder(outputFolder);
        try
        {
            extra?.Invoke(staging);
            if (result is not null)
            {
                File.WriteAllText(Path.Combine(staging, Table), RobustnessTable.Tsv(result));
                var png = AccuracyPlot.Png(result);
                File.WriteAllBytes(Path.Combine(staging, Plot), png);
                File.WriteAllText(Path.Combine(staging, Html), Render(result, run, png));
            }
            ReportWriter.Publish(staging, outputFolder);
        }
        finally
        {
            StagingFolders.Discard(staging);
        }
    }

    /// <summary>robustness.html of <paramref name="r"/> with the <paramref name="plot"/> PNG embedded.</summary>
    public static string Render(RobustnessResult r, RunInfo run, byte[] plot)
    {
        var html = HtmlWriter.Page("Repro robustness report")
            .Heading(1, $"Robustness of {T(r.Model)}")
            .Paragraph($"Seed {run.Seed} · Repro {T(run.ReproVersion)} · TorchSharp {T(run.TorchSharpVersion)} · {T(run.Runtime)} · {T(run.Os)} · {T(run.Machine)} · {run.Threads} torch threads · started {run.Started:u} · took {run.Elapsed.TotalMinutes:F1} min · {HtmlWriter.Code(run.Command)}")
            .Paragraph($"{r.Examples} images, clean accuracy {HtmlWriter.Bold(Percent.Of(r.CleanAccuracy))}, {T(RobustnessTable.Norm(r.Norm))} threat model. Robust accuracy is the worst case per example: correct under every attack. " +
                       "Attacks ran in this order, each only on the examples every earlier one left correct:")
            .List(r.Attacks.Select(a => $"{HtmlWriter.Bold(a.Name)}: {T(a.Budget)}"))
            .Table(["eps", .. r.Attacks.Select(a => $"after {a.Name}"), "robust accuracy", "sanity flags"], r.PerEps.Select(e =>
            {
                string flags = RobustnessTable.FlagWords(r, e);
                return new HtmlRow(
                [
                    $"{e.Eps:G4}", .. e.Stages.Select(s => (HtmlCell)$"{Percent.Of(s.RobustAccuracy)} <small>({s.NewlyFooled} fooled, {s.Elapsed.TotalSeconds:F0} s)</small>"),
                    HtmlWriter.Bold(Percent.Of(e.RobustAccuracy)), new HtmlCell(T(flags), flags == "none" ? Shade.Pass : Shade.Fail),
                ]);
            }))
            .Heading(2, "Sanity flags")
            .Table(["flag", "fired", "measured"], r.Flags.Concat(r.PerEps.SelectMany(e => e.Flags.Select(f => f with { Name = $"{f.Name} (eps {e.Eps:G4})" })))
                .Select(f => new HtmlRow([T(f.Name), f.Fired ? "FIRED" : "no", T(f.Detail)], f.Fired ? Shade.Fail : Shade.Pass)))
            .Figure(Plot, plot);
        return html.Finish();
    }

    static string T(string s) => HtmlWriter.Text(s);
}
