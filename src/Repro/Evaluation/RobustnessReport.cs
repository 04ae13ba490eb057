using System.Net;
using System.Text;
using Repro.Report;

namespace Repro.Evaluation;

/// <summary>
/// Writes a robustness evaluation into a folder, all files at once (staged, then moved into place):
/// records.parquet and manifest.json (<see cref="Application.Jobs.RobustnessJob"/>), robustness.tsv (the table), robustness.png (accuracy against eps) and robustness.html (a
/// self-contained report: run information with seed and versions, the table with the sanity flags
/// beside every number, what each flag measured, and the plot).
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

    public static string Render(RobustnessResult r, RunInfo run, byte[] plot)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Repro robustness report</title>
            <style>
            body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;max-width:1400px;color:#222}
            table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
            .flag{background:#f8d0d0}.ok{background:#d9f2d9}img{max-width:100%;border:1px solid #ddd}
            </style></head><body>
            """);
        html.Append($"<h1>Robustness of {E(r.Model)}</h1>");
        html.Append($"<p>Seed {run.Seed} · Repro {E(run.ReproVersion)} · TorchSharp {E(run.TorchSharpVersion)} · {E(run.Runtime)} · {E(run.Os)} · {E(run.Machine)} · {run.Threads} torch threads · started {run.Started:u} · took {run.Elapsed.TotalMinutes:F1} min · <code>{E(run.Command)}</code></p>");
        html.Append($"<p>{r.Examples} images, clean accuracy <b>{Percent.Of(r.CleanAccuracy)}</b>, {E(RobustnessTable.Norm(r.Norm))} threat model. Robust accuracy is the worst case per example: correct under every attack. " +
                    "Attacks ran in this order, each only on the examples every earlier one left correct:</p><ul>");
        foreach (var (name, budget) in r.Attacks) html.Append($"<li><b>{E(name)}</b>: {E(budget)}</li>");
        html.Append("</ul><table><tr><th>eps</th>");
        foreach (var (name, _) in r.Attacks) html.Append($"<th>after {E(name)}</th>");
        html.Append("<th>robust accuracy</th><th>sanity flags</th></tr>");
        foreach (var e in r.PerEps)
        {
            string flags = RobustnessTable.FlagWords(r, e);
            html.Append($"<tr><td>{e.Eps:G4}</td>{string.Concat(e.Stages.Select(s => $"<td>{Percent.Of(s.RobustAccuracy)} <small>({s.NewlyFooled} fooled, {s.Elapsed.TotalSeconds:F0} s)</small></td>"))}" +
                        $"<td><b>{Percent.Of(e.RobustAccuracy)}</b></td><td class=\"{(flags == "none" ? "ok" : "flag")}\">{E(flags)}</td></tr>");
        }
        html.Append("</table><h2>Sanity flags</h2><table><tr><th>flag</th><th>fired</th><th>measured</th></tr>");
        foreach (var f in r.Flags.Concat(r.PerEps.SelectMany(e => e.Flags.Select(f => f with { Name = $"{f.Name} (eps {e.Eps:G4})" }))))
            html.Append($"<tr class=\"{(f.Fired ? "flag" : "ok")}\"><td>{E(f.Name)}</td><td>{(f.Fired ? "FIRED" : "no")}</td><td>{E(f.Detail)}</td></tr>");
        html.Append($"</table><figure><img alt=\"{Plot}\" src=\"data:image/png;base64,{Convert.ToBase64String(plot)}\"><figcaption>{Plot}</figcaption></figure></body></html>");
        return html.ToString();
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
}
