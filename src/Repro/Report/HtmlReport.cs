using Repro.Experiments;

namespace Repro.Report;

/// <summary>
/// report.html: one self-contained page (figures embedded as data URIs, no scripts, no network)
/// with the claims table first, then each claim's checks, notes and figures; written through
/// <see cref="HtmlWriter"/>.
/// </summary>
internal static class HtmlReport
{
    public static string Render(IReadOnlyList<ClaimOutcome> outcomes, RunInfo run, string figureFolder)
    {
        var html = HtmlWriter.Page("Repro report")
            .Heading(1, "Repro: adversarial examples and human–model alignment")
            .Paragraph($"Seed {run.Seed} · Repro {T(run.ReproVersion)} · TorchSharp {T(run.TorchSharpVersion)} · {T(run.Runtime)} · {T(run.Os)} · {T(run.Machine)} · {run.Threads} torch threads · device {HtmlWriter.Bold(run.DeviceDescription)} · scale {HtmlWriter.Bold(run.Scale)} · started {run.Started:u} · took {run.Elapsed.TotalMinutes:F1} min · {HtmlWriter.Code(run.Command)}")
            .Paragraph($"Arithmetic: {T(run.OneDnn)} · {T(RunInfo.ArithmeticCheck)}")
            .Heading(2, "Claims")
            .Table(["claim", "verdict", "article", "measured", "time"], outcomes.Select(o => new HtmlRow(
            [
                HtmlWriter.Link("#" + o.Id, T(o.Title)), Word(o.Verdict), T(o.ArticleSays),
                o.NotRunReason != null ? "not run: " + T(o.NotRunReason)
                    : string.Join("<br>", o.Checks.Select(c => $"{(c.Holds ? "✔" : "✘")} {T(c.Threshold.Quantity)}: {HtmlWriter.Bold(Threshold.Format(c.Measured, c.Threshold.Unit))} (threshold {T(c.Threshold.Comparison)} {T(Threshold.Format(c.Threshold.Bound, c.Threshold.Unit))}; article: {T(c.ArticleSays)})")),
                $"{o.Elapsed.TotalSeconds:F0} s",
            ], ShadeOf(o.Verdict))));
        foreach (var o in outcomes)
        {
            html.Heading(2, $"{T(o.Title)} — {Word(o.Verdict)}", id: o.Id).Paragraph($"<i>Article:</i> {T(o.ArticleSays)}");
            // The notebook's section for this claim (a link that works where the report is in out/ of the repository).
            if (Article.SectionOf(o.Id) is string section)
                html.Paragraph($"Step by step in the notebook: {HtmlWriter.Link($"../{Article.NotebookPath}#{section}", $"{T(Article.NotebookPath)}, section {HtmlWriter.Code(section)}")}");
            if (o.NotRunReason != null) html.Paragraph($"<b>Not run:</b> {T(o.NotRunReason)}", Shade.Note);
            foreach (var n in o.Notes) html.Paragraph($"<b>Where the data differs from the article:</b> {T(n)}", Shade.Note);
            if (o.Measurements.Count > 0) html.Preformatted(string.Join("\n", o.Measurements));
            foreach (var f in o.Figures)
            {
                string path = Path.Combine(figureFolder, f);
                if (File.Exists(path)) html.Figure(f, File.ReadAllBytes(path));
            }
        }
        if (run.Assets.Count > 0)
        {
            html.Heading(2, "Data and weights").Table(["asset", "here", "verification", "origin", "licence"], run.Assets.Select(a => new HtmlRow(
            [
                $"{T(a.Asset.Name)}: {T(a.Asset.Title)}", a.Present ? T(a.Path!) : "missing (" + T(a.Asset.SizeText) + ")",
                T(a.Verification), HtmlWriter.Code(a.Asset.Url), T(a.Asset.Licence),
            ], a.Present ? Shade.Pass : Shade.NotRun)));
        }
        return html.Finish();
    }

    static string T(string s) => HtmlWriter.Text(s);
    static Shade ShadeOf(Verdict v) => v switch { Verdict.Pass => Shade.Pass, Verdict.Fail => Shade.Fail, _ => Shade.NotRun };
    static string Word(Verdict v) => v switch { Verdict.Pass => "PASS", Verdict.Fail => "FAIL", _ => "NOT RUN" };
}
