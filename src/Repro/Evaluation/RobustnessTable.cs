using System.Globalization;
using System.Text;
using Repro.Attacks;

namespace Repro.Evaluation;

/// <summary>
/// A robustness result as text: one row per eps, robust accuracy after each attack (cumulative, in
/// the order they ran) and the final worst case, with the sanity flags beside every number (the
/// model's flags are printed once, above: they concern every number of the table).
/// </summary>
public static class RobustnessTable
{
    /// <summary>Aligned console lines.</summary>
    public static IReadOnlyList<string> Lines(RobustnessResult r)
    {
        var lines = new List<string>
        {
            $"{r.Model}: {r.Examples} images, clean accuracy {Percent.Of(r.CleanAccuracy)}, {Norm(r.Norm)} threat model, seed {r.Seed}",
            $"attacks (in order; each runs on the examples every earlier one left correct): {string.Join("; ", r.Attacks.Select(a => $"{a.Name}: {a.Budget}"))}",
        };
        lines.AddRange(r.Flags.Select(f => "  " + f));
        var header = new List<string> { "eps" };
        header.AddRange(r.Attacks.Select(a => "after " + a.Name));
        header.Add("robust accuracy");
        header.Add("flags");
        var rows = r.PerEps.Select(e =>
        {
            var row = new List<string> { e.Eps.ToString("G4", CultureInfo.InvariantCulture) };
            row.AddRange(e.Stages.Select(s => $"{Percent.Of(s.RobustAccuracy)}"));
            row.Add($"{Percent.Of(e.RobustAccuracy)}");
            row.Add(FlagWords(r, e));
            return row;
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(row => row[i].Length))).ToArray();
        lines.Add(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        lines.AddRange(rows.Select(row => string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd()));
        return lines;
    }

    /// <summary>A Markdown table of the same numbers (for READMEs and notes).</summary>
    public static string Markdown(RobustnessResult r)
    {
        var md = new StringBuilder();
        md.AppendLine($"| eps | {string.Join(" | ", r.Attacks.Select(a => "after " + a.Name))} | robust accuracy | flags |");
        md.AppendLine($"|---|{string.Concat(r.Attacks.Select(_ => "---|"))}---|---|");
        foreach (var e in r.PerEps)
            md.AppendLine($"| {e.Eps.ToString("G4", CultureInfo.InvariantCulture)} | {string.Join(" | ", e.Stages.Select(s => $"{Percent.Of(s.RobustAccuracy)}"))} | **{Percent.Of(e.RobustAccuracy)}** | {FlagWords(r, e)} |");
        return md.ToString();
    }

    /// <summary>Tab-separated: one row per eps and attack stage, then the final row, with the flags of that eps.</summary>
    public static string Tsv(RobustnessResult r)
    {
        var tsv = new StringBuilder("model\tnorm\teps\tstage\tattack_budget\trobust_accuracy\tnewly_fooled\tattacked\tseconds\tflags\n");
        foreach (var e in r.PerEps)
        {
            foreach (var s in e.Stages)
                tsv.AppendLine(string.Join('\t', r.Model, r.Norm.Name(), F(e.Eps), "after " + s.Attack, r.Attacks.First(a => a.Name == s.Attack).Budget,
                    F(s.RobustAccuracy), s.NewlyFooled, s.Attacked, F(s.Elapsed.TotalSeconds), FlagWords(r, e)));
            tsv.AppendLine(string.Join('\t', r.Model, r.Norm.Name(), F(e.Eps), "robust accuracy", "worst case over all", F(e.RobustAccuracy), "", "", "", FlagWords(r, e)));
        }
        return tsv.ToString();
    }

    /// <summary>The flags that concern one eps's number: the model's, the cross-eps one and the eps's own; "none" when none fired.</summary>
    public static string FlagWords(RobustnessResult r, EpsResult e)
    {
        var fired = r.Flags.Concat(e.Flags).Where(f => f.Fired).Select(f => f.Name).ToList();
        return fired.Count == 0 ? "none" : string.Join(", ", fired);
    }

    /// <summary>The norm as printed in prose: "L2" or "L-inf" (<see cref="NormExtensions.Display"/>).</summary>
    public static string Norm(Norm norm) => norm.Display();

    static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
