using System.Net;
using System.Text;
using Repro.Experiments;

namespace Repro.Report;

/// <summary>
/// report.html: one self-contained page (figures embedded as data URIs, no scripts, no network)
/// with the claims table first, then each claim's checks, notes and figures.
/// </summary>
internal static class HtmlReport
{
    public static string Render(IReadOnlyList<ClaimOutcome> outcomes, RunInfo run, string figureFolder)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Repro report</title>
            <style>
            body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;max-width:1400px;color:#222}
            table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
            .pass{background:#d9f2d9}.fail{background:#f8d0d0}.notrun{background:#fff2c2}
            .note{background:#fff8e0;border-left:4px solid #e0a800;padding:6px 10px;margin:6px 0}
            img{max-width:100%;border:1px solid #ddd;margin:6px 0}pre{background:#f6f6f6;padding:8px;overflow-x:auto}
            </style></head><body>
            <h1>Repro: adversarial examples and human–model alignment</h1>
            """);
        html.Append($"<p>Seed {run.Seed} · Repro {E(run.ReproVersion)} · TorchSharp {E(run.TorchSharpVersion)} · {E(run.Runtime)} · {E(run.Os)} · {E(run.Machine)} · {run.Threads} torch threads · device <b>{E(run.DeviceDescription)}</b> · scale <b>{E(run.Scale)}</b> · started {run.Started:u} · took {run.Elapsed.TotalMinutes:F1} min · <code>{E(run.Command)}</code></p>");
        html.Append($"<p>Arithmetic: {E(run.OneDnn)} · {E(RunInfo.ArithmeticCheck)}</p>");
        html.Append("<h2>Claims</h2><table><tr><th>claim</th><th>verdict</th><th>article</th><th>measured</th><th>time</th></tr>");
        foreach (var o in outcomes)
        {
            string measured = o.NotRunReason != null ? "not run: " + E(o.NotRunReason)
                : string.Join("<br>", o.Checks.Select(c => $"{(c.Holds ? "✔" : "✘")} {E(c.Threshold.Quantity)}: <b>{E(Threshold.Format(c.Measured, c.Threshold.Unit))}</b> (threshold {E(c.Threshold.Comparison)} {E(Threshold.Format(c.Threshold.Bound, c.Threshold.Unit))}; article: {E(c.ArticleSays)})"));
            html.Append($"<tr class=\"{Css(o.Verdict)}\"><td><a href=\"#{E(o.Id)}\">{E(o.Title)}</a></td><td>{Word(o.Verdict)}</td><td>{E(o.ArticleSays)}</td><td>{measured}</td><td>{o.Elapsed.TotalSeconds:F0} s</td></tr>");
        }
        html.Append("</table>");
        foreach (var o in outcomes)
        {
            html.Append($"<h2 id=\"{E(o.Id)}\">{E(o.Title)} — {Word(o.Verdict)}</h2><p><i>Article:</i> {E(o.ArticleSays)}</p>");
            // The notebook's section for this claim (a link that works where the report is in out/ of the repository).
            if (Article.SectionOf(o.Id) is string section)
                html.Append($"<p>Step by step in the notebook: <a href=\"../{Article.NotebookPath}#{E(section)}\">{Article.NotebookPath}, section <code>{E(section)}</code></a></p>");
            if (o.NotRunReason != null) html.Append($"<p class=\"note\"><b>Not run:</b> {E(o.NotRunReason)}</p>");
            foreach (var n in o.Notes) html.Append($"<p class=\"note\"><b>Where the data differs from the article:</b> {E(n)}</p>");
            if (o.Measurements.Count > 0) html.Append($"<pre>{E(string.Join("\n", o.Measurements))}</pre>");
            foreach (var f in o.Figures)
            {
                string path = Path.Combine(figureFolder, f);
                if (File.Exists(path))
                    html.Append($"<figure><img alt=\"{E(f)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(path))}\"><figcaption>{E(f)}</figcaption></figure>");
            }
        }
        if (run.Assets.Count > 0)
        {
            html.Append("<h2>Data and weights</h2><table><tr><th>asset</th><th>here</th><th>verification</th><th>origin</th><th>licence</th></tr>");
            foreach (var a in run.Assets)
                html.Append($"<tr class=\"{(a.Present ? "pass" : "notrun")}\"><td>{E(a.Asset.Name)}: {E(a.Asset.Title)}</td><td>{(a.Present ? E(a.Path!) : "missing (" + E(a.Asset.SizeText) + ")")}</td>" +
                            $"<td>{E(a.Verification)}</td><td><code>{E(a.Asset.Url)}</code></td><td>{E(a.Asset.Licence)}</td></tr>");
            html.Append("</table>");
        }
        html.Append("</body></html>");
        return html.ToString();
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
    static string Css(Verdict v) => v switch { Verdict.Pass => "pass", Verdict.Fail => "fail", _ => "notrun" };
    static string Word(Verdict v) => v switch { Verdict.Pass => "PASS", Verdict.Fail => "FAIL", _ => "NOT RUN" };
}
