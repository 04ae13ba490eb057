using System.Diagnostics;
using Repro.Attacks;
using Repro.Evaluation;
using Repro.Report;
using static TorchSharp.torch;

namespace Repro.Application.Jobs;

/// <summary>What a run of <see cref="RobustnessJob.Run"/> ended with: complete (the records, table, plot and report written), or stopped on request with its committed batches kept.</summary>
/// <param name="Complete">Every example of the shard has records, and the output is written.</param>
/// <param name="Committed">Examples of the shard with committed records.</param>
/// <param name="Remaining">Examples of the shard still to evaluate (0 when complete).</param>
/// <param name="Result">The summary of the shard's records (complete runs only).</param>
internal sealed record JobOutcome(bool Complete, int Committed, int Remaining, RobustnessResult? Result);

/// <summary>
/// Runs one shard of a robustness evaluation into an output folder, resumable: the shard's fixed
/// batches (<see cref="Shard.BatchOf"/>: the same on any shard count) are evaluated one by one, and each batch's
/// records are committed atomically as one Parquet part under <c>.repro-parts/</c> (a killed process
/// leaves whole parts and no torn file). Run again with the same output folder and the same settings,
/// it skips the committed examples; a stop request is honoured after the running batch is committed.
/// Once every example has records, the parts become <c>records.parquet</c> (canonical order: example
/// id, eps, stage), <c>manifest.json</c>, and the table, plot and report computed from the records —
/// written all at once, the parts folder then removed.
/// </summary>
internal static class RobustnessJob
{
    /// <summary>The hidden folder of committed parts inside the output folder.</summary>
    public const string PartsFolder = ".repro-parts";
    const string JobFile = "job.json";

    /// <summary>Runs (or resumes) the shard of <paramref name="manifest"/> into <paramref name="output"/>.</summary>
    /// <param name="model">The classifier (eval mode, on <paramref name="device"/>).</param>
    /// <param name="set">The whole listing (every shard lists the same).</param>
    /// <param name="settings">The evaluation's settings.</param>
    /// <param name="manifest">What the manifest will say (without files): it identifies the job for resuming.</param>
    /// <param name="device">Where images go for the model.</param>
    /// <param name="output">The output folder.</param>
    /// <param name="stopRequested">Polled after each committed batch: true stops the run there.</param>
    /// <param name="run">Run information for the report.</param>
    /// <param name="log">Progress lines.</param>
    /// <param name="progress">(examples done, examples of the shard) after each batch.</param>
    /// <exception cref="ReproInputException">The output folder holds parts of another evaluation (the differing section named).</exception>
    public static JobOutcome Run(nn.Module<Tensor, Tensor> model, EvaluationImages set, RobustnessSettings settings, RobustnessManifest manifest, Device device,
        string output, Func<bool> stopRequested, RunInfo run, TextWriter log, Action<long, long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(stopRequested);
        var clock = Stopwatch.StartNew();
        var shard = new Shard(manifest.Shard.Index, manifest.Shard.Count);
        int batches = Shard.Batches(set.Count, settings.BatchSize);
        var positions = Enumerable.Range(0, set.Count).Where(p => shard.Contains(set.Examples[p].Id, batches)).ToList();
        string parts = Path.Combine(output, PartsFolder);
        if (Finished(output, manifest) is { } earlier)
        {
            log.WriteLine($"shard {shard} is already complete in {output} (manifest.json and records.parquet of the same evaluation): nothing to do");
            var rows = RecordsFile.Read(Path.Combine(output, RobustnessManifest.RecordsName));
            return new JobOutcome(true, positions.Count, 0,
                rows.Count == 0 ? null : RobustnessSummary.FromRecords(earlier.Model.Name, settings.Norm, earlier.Settings.Attacks, earlier.Settings.Seed, rows, TimeSpan.Zero));
        }
        bool outputExisted = Directory.Exists(output), partsExisted = Directory.Exists(parts);
        try
        {
            return Evaluate(model, set, settings, manifest, device, output, parts, positions, stopRequested, run, log, progress, clock);
        }
        catch (Exception) when (!partsExisted)
        {
            // A failure (bad input, a machine fault) of a fresh run leaves nothing: its parts go, and the output
            // folder if it made it. A resumed run keeps what was committed before it, as a stopped or killed one does.
            try
            {
                if (Directory.Exists(parts)) Directory.Delete(parts, recursive: true);
                if (!outputExisted && Directory.Exists(output) && !Directory.EnumerateFileSystemEntries(output).Any()) Directory.Delete(output);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    static JobOutcome Evaluate(nn.Module<Tensor, Tensor> model, EvaluationImages set, RobustnessSettings settings, RobustnessManifest manifest, Device device,
        string output, string parts, List<int> positions, Func<bool> stopRequested, RunInfo run, TextWriter log, Action<long, long>? progress, Stopwatch clock)
    {
        var shard = new Shard(manifest.Shard.Index, manifest.Shard.Count);
        int batches = Shard.Batches(set.Count, settings.BatchSize);
        var bookkeeping = Stopwatch.StartNew();
        double attackSeconds = 0;
        var committed = OpenParts(parts, manifest);
        bookkeeping.Stop();
        var done = committed.Select(r => r.ExampleId).ToHashSet();
        // The shard's fixed batches (Shard.BatchOf), each in listing order, cut to the batch size: the same batches on any shard count and on resuming.
        var pending = positions.GroupBy(p => Shard.BatchOf(set.Examples[p].Id, batches)).OrderBy(g => g.Key)
            .SelectMany(g => g.Chunk(settings.BatchSize)).Where(b => !done.Contains(set.Examples[b[0]].Id)).ToList();
        if (done.Count > 0) log.WriteLine($"resuming: {done.Count} of {positions.Count} examples of shard {shard} already committed in {parts}");
        if (pending.Count == 0 && positions.Count == 0) log.WriteLine($"shard {shard} holds none of the {set.Count} examples");
        var attacks = RobustAccuracy.Prepare(model, set.Load([0]).to(device), settings);
        int partNumber = Directory.GetFiles(parts, "part-*.parquet").Length;
        int finished = done.Count;
        for (int b = 0; b < pending.Count; b++)
        {
            var batch = pending[b];
            List<RobustnessRecord> records;
            using (var scope = NewDisposeScope())
            {
                var x = set.Load(batch).to(device);
                var y = set.Labels(batch).to(device);
                records = RobustAccuracy.EvaluateBatch(model, x, y, [.. batch.Select(p => set.Examples[p].Id)], [.. batch.Select(p => set.Examples[p].Source)],
                    [.. batch.Select(p => (long)p)], settings, attacks);
            }
            bookkeeping.Start();
            RecordsFile.Write(Path.Combine(parts, $"part-{++partNumber:D6}.parquet"), records);
            bookkeeping.Stop();
            attackSeconds += records.Sum(r => r.Seconds);
            committed.AddRange(records);
            finished += batch.Length;
            progress?.Invoke(finished, positions.Count);
            if (stopRequested() && b + 1 < pending.Count)
                return new JobOutcome(false, finished, positions.Count - finished, null);
        }

        var all = RecordsFile.Canonical(committed);
        var result = all.Count == 0 ? null : RobustnessSummary.FromRecords(manifest.Model.Name, settings.Norm, manifest.Settings.Attacks, settings.Seed, all, clock.Elapsed);
        var recordsTime = Publish(output, all, manifest, result, run with { Elapsed = clock.Elapsed });
        Directory.Delete(parts, recursive: true);
        double overhead = bookkeeping.Elapsed.TotalSeconds + recordsTime.TotalSeconds;
        log.WriteLine($"records and shard bookkeeping (reading and writing parts, records.parquet, manifest.json): {overhead:F2} s" +
            (attackSeconds > 0 ? $", {overhead / attackSeconds:P1} of the attacks' {attackSeconds:F1} s in this run" : ""));
        return new JobOutcome(true, positions.Count, 0, result);
    }

    /// <summary>Writes records.parquet, manifest.json (with the records' SHA-256) and, when there are records, the table, plot and report, all at once; returns the time spent on the first two.</summary>
    internal static TimeSpan Publish(string output, IReadOnlyList<RobustnessRecord> records, RobustnessManifest manifest, RobustnessResult? result, RunInfo run)
    {
        var watch = new Stopwatch();
        RobustnessReport.Write(result, run, output, staging =>
        {
            watch.Start();
            string path = Path.Combine(staging, RobustnessManifest.RecordsName);
            RecordsFile.Write(path, records);
            var final = manifest with { Files = new Dictionary<string, string> { [RobustnessManifest.RecordsName] = RobustnessManifest.Sha256Of(path) } };
            File.WriteAllText(Path.Combine(staging, RobustnessManifest.FileName), final.ToJson());
            watch.Stop();
        });
        return watch.Elapsed;
    }

    /// <summary>The manifest of a finished run of this very job and shard in <paramref name="output"/> whose records match their checksum, else null.</summary>
    static RobustnessManifest? Finished(string output, RobustnessManifest manifest)
    {
        string path = Path.Combine(output, RobustnessManifest.FileName), records = Path.Combine(output, RobustnessManifest.RecordsName);
        if (!File.Exists(path) || !File.Exists(records)) return null;
        var earlier = RobustnessManifest.Read(path);
        bool same = manifest.Identity().SequenceEqual(earlier.Identity()) && earlier.Shard.Index == manifest.Shard.Index
            && earlier.Files.TryGetValue(RobustnessManifest.RecordsName, out var sha) && sha == RobustnessManifest.Sha256Of(records);
        return same ? earlier : null;
    }

    /// <summary>The name of <see cref="Run"/>'s output folder parameter, which the messages about that folder name.</summary>
    const string OutputSetting = "output";

    /// <summary>The committed records of the parts folder, after checking it belongs to this job (creating it when absent).</summary>
    static List<RobustnessRecord> OpenParts(string parts, RobustnessManifest manifest)
    {
        string job = Path.Combine(parts, JobFile);
        if (!Directory.Exists(parts))
        {
            Directory.CreateDirectory(parts);
            Data.AtomicFile.WriteAllText(job, manifest.ToJson());
            return [];
        }
        if (!File.Exists(job)) Data.AtomicFile.WriteAllText(job, manifest.ToJson()); // killed between creating the folder and writing the job file
        var earlier = RobustnessManifest.Read(job);
        foreach (var ((section, mine), (_, theirs)) in manifest.Identity().Zip(earlier.Identity()))
            if (mine != theirs)
                throw new ReproArgumentException(OutputSetting, $"{Path.GetDirectoryName(parts)} holds part of another evaluation ({section} differs): use another output folder, or delete {parts} to start again");
        if (earlier.Shard.Index != manifest.Shard.Index)
            throw new ReproArgumentException(OutputSetting, $"{Path.GetDirectoryName(parts)} holds part of shard {earlier.Shard.Index}/{earlier.Shard.Count}, not {manifest.Shard.Index}/{manifest.Shard.Count}: give each shard its own output folder");
        foreach (var torn in Directory.GetFiles(parts).Where(f => !f.EndsWith(".parquet", StringComparison.Ordinal) && !f.EndsWith(JobFile, StringComparison.Ordinal)))
            File.Delete(torn);
        return [.. Directory.GetFiles(parts, "part-*.parquet").Order(StringComparer.Ordinal).SelectMany(RecordsFile.Read)];
    }
}
