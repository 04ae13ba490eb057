using System.Collections;
using System.Numerics;
using Razorvine.Pickle.Objects;
using static TorchSharp.torch;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// Turns what Razorvine unpickled into the checkpoint's public structure, materialising tensors
/// once their storages are read: dict and OrderedDict to <see cref="OrderedDictionary{TKey,TValue}"/>
/// (insertion order kept for OrderedDict), list to <see cref="List{T}"/>, tuple to <c>object?[]</c>,
/// set to <see cref="HashSet{T}"/>, ints to <c>long</c> (or <see cref="BigInteger"/> beyond 64 bits),
/// floats to <c>double</c>, str, bytes, bool, None; a tensor to a TorchSharp tensor. A value shared
/// in the file (the same tensor under two keys, as robustness's attacker copy) stays shared. A
/// reference cycle, nesting deeper than <see cref="MaxDepth"/>, or any other kind of object is refused.
/// </summary>
sealed class PickleValues
{
    public const int MaxDepth = 256;

    readonly Dictionary<object, object> converted = new(ReferenceEqualityComparer.Instance);
    readonly HashSet<object> inProgress = new(ReferenceEqualityComparer.Instance);
    readonly List<Tensor> created = [];

    /// <summary>Tensors made while converting (views of the storages); the caller owns them.</summary>
    public IReadOnlyList<Tensor> Created => created;

    public object? Convert(object? value) => Convert(value, 0);

    object? Convert(object? value, int depth)
    {
        switch (value)
        {
            case null: return null;
            case string or bool or double or long or byte[]: return value;
            case int i: return (long)i;
            case BigInteger b: return b >= long.MinValue && b <= long.MaxValue ? (long)b : b;
        }
        if (depth > MaxDepth) throw new CheckpointFormatException($"values nested deeper than {MaxDepth} levels");
        if (converted.TryGetValue(value, out var done)) return done;
        if (!inProgress.Add(value)) throw new CheckpointFormatException("a reference cycle (a container that contains itself)");
        object result = value switch
        {
            TensorRecipe recipe => Keep(recipe.Materialise()),
            StorageReference storage => Keep(storage.Data?.alias() ?? throw new CheckpointFormatException($"storage '{storage.Key}' was never read")),
            PickleOrderedDict ordered => Dictionary(ordered.OrderedKeys.Select(k => (k, ordered[k])), depth),
            // a plain dict's order is lost by Razorvine's Hashtable: numbers ascending, then strings (ordinal)
            Hashtable table => Dictionary(table.Keys.Cast<object>().OrderBy(k => k is string ? 1 : 0)
                .ThenBy(k => k is int or long ? System.Convert.ToInt64(k) : 0).ThenBy(k => k.ToString(), StringComparer.Ordinal).Select(k => (k, table[k])), depth),
            ArrayList list => list.Cast<object?>().Select(v => Convert(v, depth + 1)).ToList(),
            object[] tuple => tuple.Select(v => Convert(v, depth + 1)).ToArray(),
            HashSet<object> set => set.Select(v => Convert(v, depth + 1)).ToHashSet(),
            ClassDict d => throw new CheckpointFormatException($"an object of class {CheckpointFormatException.Printable(d.ClassName)}"),
            _ => throw new CheckpointFormatException($"a value of unexpected kind ({value.GetType().Name})"),
        };
        inProgress.Remove(value);
        converted[value] = result;
        return result;
    }

    Tensor Keep(Tensor tensor)
    {
        tensor.DetachFromDisposeScope();
        created.Add(tensor);
        return tensor;
    }

    OrderedDictionary<object, object?> Dictionary(IEnumerable<(object Key, object? Value)> entries, int depth)
    {
        var result = new OrderedDictionary<object, object?>();
        foreach (var (key, value) in entries)
        {
            var k = Convert(key, depth + 1) ?? throw new CheckpointFormatException("a dictionary key that is None");
            if (k is Tensor or IEnumerable and not string) throw new CheckpointFormatException("a dictionary key that is not a plain value");
            result[k] = Convert(value, depth + 1);
        }
        return result;
    }
}
