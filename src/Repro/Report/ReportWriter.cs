using Repro.Application;
using Repro.Data;
using Repro.Data.Assets;
using Repro.Experiments;
using Repro.Runtime;
using static TorchSharp.torch;

namespace Repro.Report;

/// <summary>
/// Runs experiments into a staging folder and publishes the result only when everything is
/// written: figures, report.html and claims.json appear in the output folder together, and a
/// run stopped by bad input leaves the output folder as it was. A claim whose inputs are missing
/// is reported NOT RUN with its fix (<see cref="ExperimentRunner"/>), and the run goes on.
/// </summary>
internal static class ReportWriter
{
    /// <summary>
    /// Runs each experiment in order, writes claims.json and report.html with the figures into a
    /// staging folder, and publishes them into <paramref name="outputFolder"/> together; returns each claim's outcome.
    /// </summary>
    /// <param name="experiments">The claims to run, in order.</param>
    /// <param name="paths">Where data and weights are found.</param>
    /// <param name="outputFolder">Where the report appears (created if absent); files of the same names are replaced.</param>
    /// <param name="seed">The seed recorded in the report and given to every experiment.</param>
    /// <param name="command">The command line, recorded in the report.</param>
    /// <param name="log">Receives one line per experiment and its outcome.</param>
    /// <param name="device">Where the experiments' models and tensors live (default: the CPU).</param>
    /// <param name="scale">How many images the claims use (default: quick); thresholds do not depend on it.</param>
    /// <exception cref="ReproInputException">A file stands where the output folder must be (see <see cref="StagingFolder"/>).</exception>
    /// <exception cref="ReproEnvironmentException">The output folder cannot be written.</exception>
    /// <param name="output">The output folder prepared under the output-folder policy (<see cref="ExclusiveOutputFolder"/>): the
    /// earlier run's entries it found are removed when this run publishes; null: files of the same names are replaced, others stay.</param>
    /// <param name="progress">Where the experiments' long steps report progress (default: nowhere).</param>
    public static IReadOnlyList<ClaimOutcome> RunAndPublish(IReadOnlyList<IExperiment> experiments, ReproPaths paths, string outputFolder, long seed, string command, TextWriter log,
        Device? device = null, Scale scale = Scale.Quick, ExclusiveOutputFolder? output = null, ProgressSink? progress = null)
    {
        device ??= CPU;
        var started = DateTimeOffset.Now;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string staging = StagingFolder(outputFolder);
        try
        {
            var context = new ExperimentContext(paths, staging, seed, log) { Device = device, Scale = scale, Progress = progress ?? ProgressSinks.None };
            log.WriteLine($"device {ComputeDevice.Name(device)}{(ComputeDevice.GpuName(device) is string gpu ? $" ({gpu})" : "")}, scale {Scales.Name(scale)}, TF32 {(ComputeDevice.Tf32Allowed ? "allowed" : "off")}");
            var outcomes = new List<ClaimOutcome>();
            foreach (var experiment in experiments)
            {
                log.WriteLine($"== {experiment.Title}");
                var outcome = ExperimentRunner.Run(experiment, context);
                log.WriteLine(outcome.Describe());
                outcomes.Add(outcome);
            }
            if (MissingSummary(outcomes) is { } missing) log.WriteLine(missing);
            var run = new RunInfo(seed, started, clock.Elapsed, command) { Assets = AssetCache.Statuses(paths) }.On(device, scale);
            File.WriteAllText(Path.Combine(staging, "claims.json"), ClaimsJson.Render(outcomes, run));
            File.WriteAllText(Path.Combine(staging, "report.html"), HtmlReport.Render(outcomes, run, staging));
            if (output is not null) output.Publish(staging, "report.html");
            else Publish(staging, outputFolder);
            log.WriteLine($"report: {Path.Combine(outputFolder, "report.html")} ({clock.Elapsed.TotalMinutes:F1} min)");
            return outcomes;
        }
        finally
        {
            StagingFolders.Discard(staging);
        }
    }

    /// <summary>
    /// Every catalogued asset that kept a claim from running, once: its name, title, size and origin,
    /// which claims it kept from running, and the one command that fetches them all (null when none was missing).
    /// </summary>
    public static string? MissingSummary(IReadOnlyList<ClaimOutcome> outcomes)
    {
        var missing = outcomes.SelectMany(o => o.MissingAssets.Select(m => (m.Asset, m.Root, Claim: o.Id))).ToList();
        if (missing.Count == 0) return null;
        var assets = missing.DistinctBy(m => (m.Asset.Name, m.Root)).Select(m => (m.Asset, m.Root)).ToList();
        var lines = new List<string> { $"missing assets ({assets.Count}; {missing.Select(m => m.Claim).Distinct().Count()} claims NOT RUN for want of them):" };
        foreach (var (asset, root) in assets)
        {
            var claims = missing.Where(m => m.Asset.Name == asset.Name).Select(m => m.Claim).Distinct().ToList();
            lines.Add($"  {asset.Name}: {asset.Title}, {asset.SizeText} from {asset.Host}, into {root} — needed by {string.Join(", ", claims.Take(4))}{(claims.Count > 4 ? $" and {claims.Count - 4} more" : "")}");
        }
        lines.Add($"to get them all: {AssetStore.Fix(assets)}");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>
    /// A fresh hidden folder inside the output folder, or a clear error if it cannot be written:
    /// <see cref="ReproInputException"/> when a file stands where a folder must be,
    /// <see cref="ReproEnvironmentException"/> when the file system refuses (permissions, read-only, full).
    /// </summary>
    public static string StagingFolder(string outputFolder)
    {
        try
        {
            bool existed = Directory.Exists(outputFolder);
            Directory.CreateDirectory(outputFolder);
            string staging = Path.Combine(outputFolder, $".staging-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            StagingFolders.Add(staging, existed ? null : outputFolder);
            File.WriteAllText(Path.Combine(staging, ".probe"), "");
            File.Delete(Path.Combine(staging, ".probe"));
            return staging;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            if (FileInTheWay(outputFolder) is string file)
                throw new ReproInputException($"output folder {outputFolder} cannot be created: {file} is a file", e);
            throw new ReproEnvironmentException($"output folder not writable: {outputFolder} ({e.Message})", e);
        }
    }

    /// <summary>The path itself or its nearest existing ancestor when that is a file (a wrong --out, not a machine fault).</summary>
    static string? FileInTheWay(string folder)
    {
        for (string? p = Path.GetFullPath(folder); !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p)) return p;
            if (Directory.Exists(p)) return null;
        }
        return null;
    }

    /// <summary>
    /// Whether an entry of <paramref name="outputFolder"/> (folders end with '/') is what a run wrote there: claims.json,
    /// report.html, a figure the folder's claims.json lists, or a staging folder of a stopped run (for <c>--overwrite</c>).
    /// </summary>
    public static bool IsOwnResult(string outputFolder, string name)
    {
        if (name is "claims.json" or "report.html" || (name.StartsWith(".staging-", StringComparison.Ordinal) && name.EndsWith('/'))) return true;
        return FiguresListed(outputFolder).Contains(name);
    }

    /// <summary>The figure file names an earlier run's claims.json in the folder lists (none when it is absent or unreadable).</summary>
    static HashSet<string> FiguresListed(string outputFolder)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outputFolder, "claims.json")));
            void Walk(System.Text.Json.Nodes.JsonNode? node)
            {
                switch (node)
                {
                    case System.Text.Json.Nodes.JsonObject o:
                        foreach (var (key, value) in o)
                            if (key == "figures" && value is System.Text.Json.Nodes.JsonArray figures)
                                foreach (var f in figures) { if (f?.GetValueKind() == System.Text.Json.JsonValueKind.String) names.Add(Path.GetFileName(f.GetValue<string>())); }
                            else Walk(value);
                        break;
                    case System.Text.Json.Nodes.JsonArray a:
                        foreach (var item in a) Walk(item);
                        break;
                }
            }
            Walk(json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException) { }
        return names;
    }

    /// <summary>Moves every file of the staging folder into the output folder (same file system: renames).</summary>
    public static void Publish(string staging, string outputFolder)
    {
        foreach (var file in Directory.GetFiles(staging))
            File.Move(file, Path.Combine(outputFolder, Path.GetFileName(file)), overwrite: true);
    }
}
