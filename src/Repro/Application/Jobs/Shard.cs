using System.Globalization;
using Repro.Evaluation;

namespace Repro.Application.Jobs;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> (0-based). An evaluation of n examples in batches of
/// b is cut into B = ceil(n / b) fixed batches: an example's batch is a stable hash of its id modulo B
/// (<see cref="BatchOf"/>), and batch k belongs to shard k modulo the shard count (each shard gets
/// as many batches as the others, give or take one). So an example's shard depends on its id alone (given the evaluation's size and batch),
/// never on its position or on the other examples; and every shard count runs the very same batches,
/// which makes the records equal bit for bit whatever the kernels do with the batch size.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole evaluation: shard 0 of 1.</summary>
    public static Shard Whole => new(0, 1);

    /// <summary>The shard of example <paramref name="id"/> among <paramref name="count"/>: SplitMix64's finaliser of the id, modulo the count.</summary>
    public static int Of(long id, int count)
    {
        ulong z = unchecked((ulong)id + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z % (ulong)count);
    }

    /// <summary>The fixed batches of an evaluation of <paramref name="examples"/> in batches of <paramref name="batchSize"/>: ceil(n / b), at least 1.</summary>
    public static int Batches(int examples, int batchSize) => Math.Max(1, (int)(((long)examples + batchSize - 1) / batchSize));

    /// <summary>The fixed batch of example <paramref name="id"/> among <paramref name="batches"/>.</summary>
    public static int BatchOf(long id, int batches) => Of(id, batches);

    /// <summary>Whether example <paramref name="id"/> belongs to this shard, for an evaluation cut into <paramref name="batches"/> fixed batches.</summary>
    public bool Contains(long id, int batches) => BatchOf(id, batches) % Count == Index;

    /// <summary>"K/N".</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>Parses "K/N" with 0 &lt;= K &lt; N.</summary>
    /// <exception cref="ReproInputException">Not of that form (the message starts with <paramref name="what"/>).</exception>
    public static Shard Parse(string text, string what = "shard")
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && n >= 1 && n <= 1_000_000 && k < n)
            return new Shard(k, n);
        throw new ReproInputException($"{what} must be K/N with 0 <= K < N (0-based, e.g. 0/4), got '{text}'");
    }

    /// <summary>
    /// The shard from the environment, or null: Slurm's array (SLURM_ARRAY_TASK_ID of
    /// SLURM_ARRAY_TASK_COUNT; the array must run indices 0..N-1) or Kubernetes' Indexed Job
    /// (JOB_COMPLETION_INDEX of REPRO_SHARD_COUNT), with where it came from in words.
    /// </summary>
    /// <exception cref="ReproInputException">The variables are present but not numbers, or the index is out of range.</exception>
    public static (Shard Shard, string From)? FromEnvironment(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (variable("SLURM_ARRAY_TASK_ID") is string task && variable("SLURM_ARRAY_TASK_COUNT") is string tasks)
            return (Parse($"{task}/{tasks}", "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT"), $"Slurm array task {task} of {tasks}");
        if (variable("JOB_COMPLETION_INDEX") is string index)
        {
            if (variable("REPRO_SHARD_COUNT") is not string count)
                throw new ReproInputException("JOB_COMPLETION_INDEX is set but REPRO_SHARD_COUNT is not: set it to the Job's completions");
            return (Parse($"{index}/{count}", "JOB_COMPLETION_INDEX/REPRO_SHARD_COUNT"), $"Kubernetes completion index {index} of {count}");
        }
        return null;
    }
}
