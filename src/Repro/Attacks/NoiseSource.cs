using Repro.Explain;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Where an attack's random numbers come from, per batch row. Two kinds:
/// <see cref="ExampleNoise"/> (the default everywhere: every row's numbers are keyed by the seed,
/// the example's id and the purpose, so no example's numbers depend on another) and
/// <see cref="GeneratorNoise"/> (one CPU generator for the whole batch, drawn in order — results
/// then depend on batch composition; kept only for the committed training recipe, whose weights
/// must stay reproducible).
/// </summary>
public abstract class NoiseSource
{
    /// <summary>Standard normal noise shaped like <paramref name="like"/> [N,...], on its device and dtype.</summary>
    public abstract Tensor Normal(Tensor like);

    /// <summary>Uniform noise in [0,1) shaped like <paramref name="like"/> [N,...].</summary>
    public abstract Tensor Uniform(Tensor like);

    /// <summary>One uniform per example [N] (for example an L2 random start's radius).</summary>
    public abstract Tensor UniformPerExample(Tensor like);
}

/// <summary>Per-example noise: row i uses the counter-based streams keyed by (seed, purpose, instance, id_i) (<see cref="RandomStreams"/>, <see cref="CounterNoise"/>), computed on the images' device.</summary>
public sealed class ExampleNoise : NoiseSource
{
    readonly long[] keys;

    ExampleNoise(long[] keys) => this.keys = keys;

    /// <summary>Noise for the examples <paramref name="ids"/> (one per batch row) for one purpose and instance (for example PGD's start, restart 2).</summary>
    public static ExampleNoise For(long seed, IReadOnlyList<long> ids, RandomPurpose purpose, params long[] instance) =>
        new(RandomStreams.Keys(seed, purpose, ids, instance));

    /// <summary>The noise of a subset of the rows (indices into this batch), for attacks that drop finished examples.</summary>
    public ExampleNoise Select(IReadOnlyList<long> rows) => new(rows.Select(r => keys[r]).ToArray());

    /// <summary>Number of examples (batch rows) this noise is for.</summary>
    public int Count => keys.Length;

    /// <summary>The per-example keys of sub-stream <paramref name="stream"/>, as an int64 [N] tensor on <paramref name="device"/>.</summary>
    public Tensor Keys(long stream, Device device)
    {
        using var scope = NewDisposeScope();
        var k = tensor(keys, dtype: ScalarType.Int64, device: device);
        return CounterNoise.Derive(k, tensor(stream, dtype: ScalarType.Int64, device: device)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="like"/> does not have <see cref="Count"/> rows.</exception>
    public override Tensor Normal(Tensor like) => Rows(like, 0, normal: true);
    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="like"/> does not have <see cref="Count"/> rows.</exception>
    public override Tensor Uniform(Tensor like) => Rows(like, 1, normal: false);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="like"/> does not have <see cref="Count"/> rows.</exception>
    public override Tensor UniformPerExample(Tensor like)
    {
        Check(like);
        using var scope = NewDisposeScope();
        return CounterNoise.Uniform(Keys(2, like.device), 1, like.dtype).reshape(like.shape[0]).MoveToOuterDisposeScope();
    }

    Tensor Rows(Tensor like, long stream, bool normal)
    {
        Check(like);
        using var scope = NewDisposeScope();
        long per = like.numel() / Math.Max(1, like.shape[0]);
        var rowKeys = Keys(stream, like.device);
        var rows = normal ? CounterNoise.Normal(rowKeys, per, like.dtype) : CounterNoise.Uniform(rowKeys, per, like.dtype);
        return rows.reshape(like.shape).MoveToOuterDisposeScope();
    }

    void Check(Tensor like)
    {
        if (like.shape[0] != keys.Length) throw new ArgumentException($"noise for {keys.Length} examples asked for a batch of {like.shape[0]}");
    }
}

/// <summary>
/// The batch's noise from one seeded CPU generator, drawn in order and copied to the images' device
/// (what every random start did before per-example noise). An example's numbers depend on its
/// position and on the batch size: use it only to reproduce results made that way (the committed
/// adversarial-training recipe v1).
/// </summary>
public sealed class GeneratorNoise(Generator generator) : NoiseSource
{
    /// <inheritdoc/>
    public override Tensor Normal(Tensor like) => randn(like.shape, dtype: like.dtype, generator: generator).to(like.device);
    /// <inheritdoc/>
    public override Tensor Uniform(Tensor like) => rand(like.shape, dtype: like.dtype, generator: generator).to(like.device);
    /// <inheritdoc/>
    public override Tensor UniformPerExample(Tensor like) => rand(new[] { like.shape[0] }, dtype: like.dtype, generator: generator).to(like.device);
}
