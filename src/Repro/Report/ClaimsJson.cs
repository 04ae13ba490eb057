using System.Text.Json;
using System.Text.Json.Nodes;
using Repro.Experiments;

namespace Repro.Report;

/// <summary>claims.json: per claim, the article's figure, the measured figure, the verdict against its threshold, or why it did not run.</summary>
internal static class ClaimsJson
{
    public static string Render(IReadOnlyList<ClaimOutcome> outcomes, RunInfo run)
    {
        var root = new JsonObject
        {
            ["seed"] = run.Seed,
            ["started"] = run.Started.ToString("O"),
            ["elapsedSeconds"] = Math.Round(run.Elapsed.TotalSeconds, 1),
            ["command"] = run.Command,
            ["versions"] = new JsonObject { ["repro"] = run.ReproVersion, ["torchsharp"] = run.TorchSharpVersion, ["runtime"] = run.Runtime },
            ["machine"] = new JsonObject { ["os"] = run.Os, ["cpu"] = run.Machine, ["torchThreads"] = run.Threads },
            ["device"] = new JsonObject { ["name"] = run.Device, ["gpu"] = run.Gpu, ["tf32"] = run.Tf32 },
            ["scale"] = run.Scale,
            ["arithmetic"] = new JsonObject { ["onednn"] = run.OneDnn, ["selfCheck"] = RunInfo.ArithmeticCheck },
            ["claims"] = new JsonArray(outcomes.Select(Claim).ToArray()),
            ["assets"] = new JsonArray(run.Assets.Select(a => (JsonNode)new JsonObject
            {
                ["name"] = a.Asset.Name,
                ["present"] = a.Present,
                ["path"] = a.Path,
                ["origin"] = a.Asset.Url,
                ["checksum"] = a.Asset.Checksum.ToString(),
                ["sha256"] = a.Record?.Sha256,
                ["verified"] = a.Record?.Verified,
                ["source"] = a.Record?.Source,
                ["licence"] = a.Asset.Licence,
            }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    static JsonNode Claim(ClaimOutcome o) => new JsonObject
    {
        ["id"] = o.Id,
        ["title"] = o.Title,
        ["article"] = o.ArticleSays,
        ["verdict"] = o.Verdict switch { Verdict.Pass => "pass", Verdict.Fail => "fail", _ => "not run" },
        ["notRunReason"] = o.NotRunReason,
        ["notRunFix"] = o.NotRunFix,
        ["elapsedSeconds"] = Math.Round(o.Elapsed.TotalSeconds, 1),
        ["checks"] = new JsonArray(o.Checks.Select(c => (JsonNode)new JsonObject
        {
            ["quantity"] = c.Threshold.Quantity,
            ["articleSays"] = c.ArticleSays,
            ["measured"] = double.IsFinite(c.Measured) ? c.Measured : null,
            ["threshold"] = $"{c.Threshold.Comparison} {c.Threshold.Bound}",
            ["unit"] = c.Threshold.Unit,
            ["holds"] = c.Holds,
        }).ToArray()),
        ["measurements"] = new JsonArray(o.Measurements.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
        ["notes"] = new JsonArray(o.Notes.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
        ["figures"] = new JsonArray(o.Figures.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()),
    };
}
