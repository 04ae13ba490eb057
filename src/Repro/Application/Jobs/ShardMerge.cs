using Repro.Attacks;
using Repro.Evaluation;
using Repro.Report;

namespace Repro.Application.Jobs;

/// <summary>
/// <c>repro merge</c>: joins the output folders of the N shards of one evaluation into the output a
/// one-machine run writes (the same records in the same order, so the same table, plot, report and
/// flags). Everything is checked before anything is written: every folder has a manifest of the
/// same model, data, settings, version and shard count; every shard 0..N-1 is given exactly once;
/// each records file matches the SHA-256 its manifest states; every example of the listing has records
/// in exactly one shard, and in the shard its id belongs to. Anything else is refused with one
/// message naming the folder or file.
/// </summary>
internal static class ShardMerge
{
    /// <summary>Checks the shards and returns the merged manifest (shard 0 of 1) and the records in canonical order.</summary>
    /// <exception cref="ReproInputException">The shards do not make one whole evaluation (the shard folder or file and the reason named).</exception>
    public static (RobustnessManifest Manifest, List<RobustnessRecord> Records) Check(IReadOnlyList<string> shardFolders)
    {
        ArgumentNullException.ThrowIfNull(shardFolders);
        if (shardFolders.Count == 0) throw new ReproInputException("merge: no shard folders given");
        var manifests = shardFolders.Select(f => (Folder: f, Manifest: RobustnessManifest.Read(Path.Combine(f, RobustnessManifest.FileName)))).ToList();
        var (firstFolder, first) = manifests[0];
        var reference = first.Identity().ToList();
        foreach (var (folder, manifest) in manifests.Skip(1))
            foreach (var ((section, mine), (_, theirs)) in manifest.Identity().Zip(reference))
                if (mine != theirs)
                    throw new ReproInputException($"{folder}: not a shard of the same evaluation as {firstFolder} (different {section})");
        int count = first.Shard.Count;
        var byIndex = new Dictionary<int, string>();
        foreach (var (folder, manifest) in manifests)
        {
            if (byIndex.TryGetValue(manifest.Shard.Index, out var other))
                throw new ReproInputException($"{folder}: shard {manifest.Shard.Index}/{count} is given twice (also {other})");
            byIndex[manifest.Shard.Index] = folder;
        }
        var missing = Enumerable.Range(0, count).Where(k => !byIndex.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ReproInputException($"shard {string.Join(", ", missing.Select(k => $"{k}/{count}"))} missing: give all {count} shard folders (given: {string.Join(", ", byIndex.Keys.Order().Select(k => $"{k}/{count}"))})");

        var records = new List<RobustnessRecord>();
        var seen = new Dictionary<long, string>();
        foreach (var (folder, manifest) in manifests)
        {
            string path = Path.Combine(folder, RobustnessManifest.RecordsName);
            if (!File.Exists(path)) throw new ReproInputException($"{path}: missing (the shard did not finish?)");
            if (!manifest.Files.TryGetValue(RobustnessManifest.RecordsName, out var expected))
                throw new ReproInputException($"{Path.Combine(folder, RobustnessManifest.FileName)}: states no checksum for {RobustnessManifest.RecordsName}");
            if (RobustnessManifest.Sha256Of(path) != expected)
                throw new ReproInputException($"{path}: its SHA-256 differs from the one in its manifest (corrupted or changed since it was written)");
            var shard = new Shard(manifest.Shard.Index, count);
            int batches = Shard.Batches(manifest.Data.Examples, manifest.Settings.Batch);
            var rows = RecordsFile.Read(path);
            var ids = rows.Select(r => r.ExampleId).Distinct().ToList();
            foreach (long id in ids)
            {
                if (!shard.Contains(id, batches)) throw new ReproInputException($"{path}: holds example {id}, which belongs to shard {Shard.BatchOf(id, batches) % count}/{count}, not {shard}");
                if (!seen.TryAdd(id, folder)) throw new ReproInputException($"{path}: example {id} also in {seen[id]}");
            }
            if (ids.Count != manifest.Shard.Examples)
                throw new ReproInputException($"{path}: records of {ids.Count} examples, its manifest says {manifest.Shard.Examples}");
            int perExample = manifest.Settings.Eps.Count * manifest.Settings.Attacks.Count;
            if (rows.Count != ids.Count * perExample)
                throw new ReproInputException($"{path}: {rows.Count} records for {ids.Count} examples x {perExample} (eps, attack) pairs");
            records.AddRange(rows);
        }
        if (seen.Count != first.Data.Examples)
            throw new ReproInputException($"the {count} shards hold {seen.Count} examples, the evaluation lists {first.Data.Examples}");
        var merged = first with
        {
            Shard = new ManifestShard(0, 1, seen.Count, $"merged from {count} shard{(count == 1 ? "" : "s")}"),
            Files = new Dictionary<string, string>(),
        };
        return (merged, RecordsFile.Canonical(records));
    }

    /// <summary>Checks the shards (<see cref="Check"/>) and writes the merged records, manifest, table, plot and report into <paramref name="output"/>.</summary>
    /// <exception cref="ReproInputException">As <see cref="Check"/>, or <paramref name="output"/> is one of the shard folders.</exception>
    public static RobustnessResult Merge(IReadOnlyList<string> shardFolders, string output, RunInfo run)
    {
        ArgumentNullException.ThrowIfNull(shardFolders);
        string full = Path.GetFullPath(output);
        if (shardFolders.Any(f => Path.GetFullPath(f).TrimEnd('/') == full.TrimEnd('/')))
            throw new ReproArgumentException(nameof(output), $"{output} is one of the shard folders: merge into a new folder");
        var (manifest, records) = Check(shardFolders);
        var result = RobustnessSummary.FromRecords(manifest.Model.Name, Norms.Parse(manifest.Settings.Norm, $"{RobustnessManifest.FileName}'s norm"), manifest.Settings.Attacks, manifest.Settings.Seed, records,
            TimeSpan.FromSeconds(records.Sum(r => r.Seconds)));
        RobustnessJob.Publish(full, records, manifest, result, run);
        return result;
    }
}
