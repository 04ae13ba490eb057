namespace Repro.Experiments;

internal enum Verdict { Pass, Fail, NotRun }

/// <summary>
/// What running one claim's experiment found: its checks against thresholds, the figures it
/// wrote, plain-language notes (including where a measurement contradicts the article), or the
/// reason it could not run and how to fix that.
/// </summary>
internal sealed record ClaimOutcome
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    /// <summary>The article's sentence this claim tests.</summary>
    public required string ArticleSays { get; init; }
    public IReadOnlyList<Check> Checks { get; init; } = [];
    /// <summary>Measured figures reported without a threshold (tables, sweeps).</summary>
    public IReadOnlyList<string> Measurements { get; init; } = [];
    /// <summary>Where the data says something the article does not, in plain words.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>PNG files written, relative to the output folder.</summary>
    public IReadOnlyList<string> Figures { get; init; } = [];
    public string? NotRunReason { get; init; }
    /// <summary>For a claim that could not run: the exact command or file placement that makes its inputs present.</summary>
    public string? NotRunFix { get; init; }
    /// <summary>For a claim that could not run for want of catalogued assets: which (the run lists them, with sizes, origins and one fetch command, once at its end).</summary>
    public IReadOnlyList<(Data.Assets.Asset Asset, string Root)> MissingAssets { get; init; } = [];
    public TimeSpan Elapsed { get; init; }

    public Verdict Verdict => NotRunReason != null ? Verdict.NotRun : Checks.All(c => c.Holds) && Checks.Count > 0 ? Verdict.Pass : Verdict.Fail;

    public static ClaimOutcome NotRun(string id, string title, string articleSays, string reason) =>
        new() { Id = id, Title = title, ArticleSays = articleSays, NotRunReason = reason };

    public string Describe()
    {
        var lines = new List<string> { $"[{Verdict switch { Verdict.Pass => "PASS", Verdict.Fail => "FAIL", _ => "NOT RUN" }}] {Id}: {Title}", $"  article: {ArticleSays}" };
        // Missing assets are said in one line here and once, in full, at the end of the run (ReportWriter).
        if (NotRunReason != null)
            lines.Add(MissingAssets.Count > 0 ? $"  NOT RUN: missing {string.Join(", ", MissingAssets.Select(m => m.Asset.Name).Distinct())} (see the list of missing assets at the end)"
                                              : $"  NOT RUN: {NotRunReason}");
        lines.AddRange(Checks.Select(c => "  " + c));
        lines.AddRange(Measurements.Select(m => "  " + m));
        lines.AddRange(Notes.Select(n => "  NOTE: " + n));
        lines.AddRange(Figures.Select(f => "  figure: " + f));
        if (Elapsed > TimeSpan.Zero) lines.Add($"  time: {Elapsed.TotalSeconds:F1} s");
        return string.Join(Environment.NewLine, lines);
    }
}
