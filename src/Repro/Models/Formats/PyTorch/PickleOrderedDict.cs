using System.Collections;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// <c>collections.OrderedDict</c> as unpickled: a Hashtable (what Razorvine's SETITEM(S) opcodes
/// fill) that remembers insertion order, which state_dicts rely on. Its pickled attributes
/// (<c>_metadata</c> of a state_dict: module versions) arrive through <see cref="__setstate__"/>
/// and are kept apart from the entries.
/// </summary>
sealed class PickleOrderedDict : Hashtable
{
    /// <summary>
    /// Python's picklers (C and Python, hence also dill) write a dict's items in batches of 1000
    /// (<c>pickle._BATCHSIZE</c>), each batch one SETITEMS opcode (SETITEM for a batch of one), and
    /// Razorvine 1.5 inserts the items of one SETITEMS in reverse order. <see cref="OrderedKeys"/>
    /// undoes that, batch by batch.
    /// </summary>
    public const int PickleBatchSize = 1000;

    readonly List<object> insertions = [];
    bool builtFromPairs;

    /// <summary>The keys in the order PyTorch wrote them.</summary>
    public IReadOnlyList<object> OrderedKeys
    {
        get
        {
            if (builtFromPairs) return insertions;
            var keys = new List<object>(insertions.Count);
            for (int start = 0; start < insertions.Count; start += PickleBatchSize)
            {
                int count = Math.Min(PickleBatchSize, insertions.Count - start);
                for (int i = start + count - 1; i >= start; i--) keys.Add(insertions[i]);
            }
            return keys.Where(ContainsKey).ToList();
        }
    }

    public Hashtable? Attributes { get; private set; }

    /// <summary>Python 2's <c>OrderedDict([[key, value], ...])</c>: entries in the given order.</summary>
    public static PickleOrderedDict FromPairs(IEnumerable<(object Key, object? Value)> pairs)
    {
        var dict = new PickleOrderedDict { builtFromPairs = true };
        foreach (var (key, value) in pairs) dict[key] = value;
        return dict;
    }

    public override object? this[object key]
    {
        get => base[key];
        set
        {
            if (!ContainsKey(key)) insertions.Add(key);
            base[key] = value;
        }
    }

    public override void Add(object key, object? value)
    {
        base.Add(key, value);
        insertions.Add(key);
    }

    /// <summary>Called by Razorvine for the BUILD opcode (the object's <c>__dict__</c>).</summary>
    public void __setstate__(Hashtable state) => Attributes = state;
}
