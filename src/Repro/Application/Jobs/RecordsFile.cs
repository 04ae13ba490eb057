using Parquet.Serialization;
using Repro.Data;
using Repro.Evaluation;

namespace Repro.Application.Jobs;

/// <summary>Reads and writes <see cref="RobustnessRecord"/>s as Parquet (Parquet.Net), atomically: a reader never sees a torn file.</summary>
public static class RecordsFile
{
    /// <summary>Writes <paramref name="records"/> to <paramref name="path"/> (a temporary file renamed into place).</summary>
    public static void Write(string path, IReadOnlyList<RobustnessRecord> records) =>
        AtomicFile.Write(path, stream => ParquetSerializer.SerializeAsync(records, stream).GetAwaiter().GetResult());

    /// <summary>Reads every record of <paramref name="path"/>.</summary>
    /// <exception cref="ReproInputException">The file is not a readable records file (named).</exception>
    public static List<RobustnessRecord> Read(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return [.. ParquetSerializer.DeserializeAsync<RobustnessRecord>(stream).GetAwaiter().GetResult().Data];
        }
        catch (Exception e) when (e is not ReproInputException and not OutOfMemoryException)
        {
            throw new ReproInputException($"{path}: not a readable records file ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>The canonical order of records: example id, eps, stage.</summary>
    public static List<RobustnessRecord> Canonical(IEnumerable<RobustnessRecord> records) =>
        [.. records.OrderBy(r => r.ExampleId).ThenBy(r => r.Eps).ThenBy(r => r.Stage)];
}
