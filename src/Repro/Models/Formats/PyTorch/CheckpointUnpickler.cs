using Razorvine.Pickle;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// Razorvine's unpickler for one pickle of a checkpoint: the pickle's globals are first checked
/// against <see cref="AllowedGlobals"/> (<see cref="PickleScanner"/>), then Razorvine reads it
/// from a byte array (so no length in the file is ever allocated before it is checked against the
/// bytes present), with PyTorch's persistent ids for storages resolved to
/// <see cref="StorageReference"/>s.
///
/// Razorvine keeps its constructors in one process-wide table; TorchSharp.PyBridge registers its
/// own under the same names. While a pickle is read, this class puts the allow-list's
/// constructors in that table and afterwards restores what was there, under a lock, so the two
/// libraries do not see each other's constructors.
/// </summary>
sealed class CheckpointUnpickler : Unpickler
{
    static readonly object TableLock = new();

    readonly Dictionary<string, StorageReference>? storages;

    CheckpointUnpickler(Dictionary<string, StorageReference>? storages) => this.storages = storages;

    /// <summary>
    /// Reads one complete pickle. Storages it references are added to <paramref name="storages"/>
    /// (one reference per key); pass null for a pickle that may not reference any.
    /// </summary>
    public static object? Load(byte[] pickle, Dictionary<string, StorageReference>? storages)
    {
        var scan = PickleScanner.Scan(pickle, 0);
        if (!scan.Complete) throw new CheckpointFormatException("the pickle ends before its STOP opcode (truncated file)");
        var refused = scan.Globals.FirstOrDefault(g => !AllowedGlobals.Contains(g));
        if (refused != null)
            throw new CheckpointFormatException(
                $"refused: the pickle references the Python global '{CheckpointFormatException.Printable(refused)}', which a tensor checkpoint does not need " +
                "(allowed: collections.OrderedDict, torch._utils tensor/parameter rebuilds, torch storage types, plain containers); nothing was executed");
        lock (TableLock)
        {
            var table = objectConstructors;
            var previous = new Dictionary<string, IObjectConstructor?>();
            foreach (var (name, constructor) in AllowedGlobals.Constructors)
            {
                previous[name] = table.TryGetValue(name, out var old) ? old : null;
                table[name] = constructor;
            }
            try
            {
                using var unpickler = new CheckpointUnpickler(storages);
                return unpickler.loads(pickle);
            }
            finally
            {
                foreach (var (name, old) in previous)
                {
                    if (old == null) table.Remove(name);
                    else table[name] = old;
                }
            }
        }
    }

    /// <summary>PyTorch's <c>('storage', storage_type, key, location, numel[, view_metadata])</c>.</summary>
    protected override object persistentLoad(object pid)
    {
        if (storages == null) throw new CheckpointFormatException("a storage where none belongs (in a header pickle)");
        if (pid is not object[] { Length: 5 or 6 } id || id[0] is not "storage")
            throw new CheckpointFormatException($"a persistent id that is not a storage ({TensorRebuild.Describe(pid)})");
        if (id[1] is not TorchStorageType type) throw new CheckpointFormatException($"a storage of type {TensorRebuild.Describe(id[1])}");
        if (id[2] is not string rawKey) throw new CheckpointFormatException("a storage key that is not a string");
        string key = CheckpointFormatException.Printable(rawKey);
        if (key != rawKey) throw new CheckpointFormatException($"a storage key with control characters or over 120 characters ('{key}')");
        string location = id[3] as string ?? throw new CheckpointFormatException($"storage '{key}' has no location");
        long numel = TensorRebuild.Integer(id[4], $"the element count of storage '{key}'");
        if (numel < 0) throw new CheckpointFormatException($"storage '{key}' declares {numel} elements");
        if (id.Length == 6 && id[5] != null)
            throw new CheckpointFormatException($"storage '{key}' is a view of another storage (written by PyTorch < 0.4), which this reader does not support");
        if (storages.TryGetValue(key, out var known))
        {
            if (known.Type.Dtype != type.Dtype || known.Numel != numel)
                throw new CheckpointFormatException($"storage '{key}' is declared twice, as {known.Type.Name}[{known.Numel}] and {type.Name}[{numel}]");
            return known;
        }
        return storages[key] = new StorageReference(key, type, numel, location);
    }
}
