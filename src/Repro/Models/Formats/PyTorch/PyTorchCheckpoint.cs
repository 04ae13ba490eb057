using System.Collections;
using static TorchSharp.torch;

namespace Repro.Models.Formats.PyTorch;

/// <summary>How a checkpoint file was written.</summary>
public enum PyTorchSerialisation
{
    /// <summary>torch.save since PyTorch 1.6: a zip archive (data.pkl and one record per storage).</summary>
    Zip,
    /// <summary>torch.save before 1.6 (or with <c>_use_new_zipfile_serialization=False</c>): pickles followed by raw storages.</summary>
    Legacy,
}

/// <summary>
/// A PyTorch checkpoint (a file written by <c>torch.save</c>) read without Python: a state_dict,
/// or any nesting of dicts, lists and tuples around tensors, such as MadryLab robustness's
/// <c>{'model': state_dict, 'optimizer': ..., 'schedule': ..., 'epoch': ...}</c> written with
/// <c>pickle_module=dill</c>. Both serialisations are read (<see cref="PyTorchSerialisation"/>);
/// tensors of float32/64, float16, bfloat16, int8/16/32/64, uint8, bool and complex64/128 come
/// back as CPU TorchSharp tensors with their sizes, strides and storage offsets, views of one
/// storage sharing its memory as in PyTorch.
///
/// Safety: unpickling is limited to an allow-list of the globals a tensor checkpoint needs
/// (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor(_v2)</c>,
/// <c>_rebuild_parameter</c>, the <c>torch.*Storage</c> types, plain containers). Any other global
/// is refused with the file and the global named, before anything is built; nothing in the file
/// is ever executed. Every size in the file is checked against the file's length before memory is
/// allocated for it. Little-endian files only (what every x86 and ARM machine writes).
///
/// The reader owns the tensors: dispose the checkpoint when the weights have been copied.
/// </summary>
public sealed class PyTorchCheckpoint : IDisposable
{
    readonly IReadOnlyList<Tensor> owned;

    PyTorchCheckpoint(string path, PyTorchSerialisation serialisation, object? root, IReadOnlyList<Tensor> owned)
    {
        Path = path;
        Serialisation = serialisation;
        Root = root;
        this.owned = owned;
        Tensors = FlattenTensors(root);
    }

    /// <summary>The checkpoint file read.</summary>
    public string Path { get; }

    /// <summary>How the file was written: zip (PyTorch 1.6+) or legacy.</summary>
    public PyTorchSerialisation Serialisation { get; }

    /// <summary>
    /// The unpickled object: dicts as <see cref="OrderedDictionary{TKey,TValue}"/> of object to
    /// object? (OrderedDict order kept; a plain dict's keys sorted, numbers first, since the
    /// unpickler does not keep its order), lists as <see cref="List{T}"/>, tuples as
    /// <c>object?[]</c>, sets as <see cref="HashSet{T}"/>, ints as <c>long</c> (BigInteger beyond 64
    /// bits), floats as <c>double</c>, str, bytes (<c>byte[]</c>), bool, null, and tensors.
    /// </summary>
    public object? Root { get; }

    /// <summary>
    /// Every tensor in <see cref="Root"/> by its path, the keys and list indices from the root
    /// joined with '/' (e.g. <c>model/module.model.conv1.weight</c>,
    /// <c>optimizer/state/0/momentum_buffer</c>; for a plain state_dict just its keys). A tensor
    /// stored under several paths appears under each.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Reads <paramref name="path"/>; throws <see cref="ReproInputException"/> naming the file for anything it cannot or will not read.</summary>
    public static PyTorchCheckpoint Read(string path)
    {
        if (!File.Exists(path)) throw new ReproInputException($"checkpoint not found: {path}");
        var values = new PickleValues();
        Dictionary<string, StorageReference>? storages = null;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var serialisation = Recognise(file);
            object? raw;
            (raw, storages) = serialisation == PyTorchSerialisation.Zip ? ZipCheckpointReader.Read(file) : LegacyCheckpointReader.Read(file);
            var root = values.Convert(raw);
            return new PyTorchCheckpoint(path, serialisation, root, values.Created.Concat(storages.Values.Select(s => s.Data!)).ToList());
        }
        catch (Exception e)
        {
            foreach (var tensor in values.Created) tensor.Dispose();
            foreach (var storage in storages?.Values ?? Enumerable.Empty<StorageReference>()) storage.Data?.Dispose();
            throw e switch
            {
                ReproInputException => e,
                CheckpointFormatException => new ReproInputException($"{path}: {e.Message}", e),
                IOException or UnauthorizedAccessException when e is not EndOfStreamException and not InvalidDataException =>
                    new ReproEnvironmentException($"{path}: cannot read the file ({e.Message})", e),
                _ => new ReproInputException($"{path}: not a readable PyTorch checkpoint ({Reason(e)})", e),
            };
        }
    }

    /// <summary>
    /// The model's state_dict: the root itself when it maps names to tensors, else the first of
    /// <c>model</c>, <c>state_dict</c>, <c>model_state_dict</c> that does (robustness and most
    /// training scripts' checkpoints).
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        if (AsStateDict(Root) is { } direct) return direct;
        if (Root is IDictionary<object, object?> top)
            foreach (string key in new[] { "model", "state_dict", "model_state_dict" })
                if (top.TryGetValue(key, out var inner) && AsStateDict(inner) is { } nested) return nested;
        string what = Root is IDictionary<object, object?> d ? $"a dict with keys {string.Join(", ", d.Keys.Take(10).Select(k => CheckpointFormatException.Printable(System.Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture) ?? "")))}" : Root?.GetType().Name ?? "None";
        throw new ReproInputException($"{Path}: no state_dict (names to tensors) at the top or under 'model' / 'state_dict'; the file holds {what}");
    }

    static Dictionary<string, Tensor>? AsStateDict(object? value)
    {
        if (value is not IDictionary<object, object?> { Count: > 0 } dict || !dict.All(e => e.Key is string && e.Value is Tensor)) return null;
        return dict.ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
    }

    static PyTorchSerialisation Recognise(FileStream file)
    {
        Span<byte> start = stackalloc byte[4];
        int read = file.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        file.Position = 0;
        if (read == 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4) return PyTorchSerialisation.Zip;
        if (read >= 2 && start[0] == 0x80) return PyTorchSerialisation.Legacy;
        throw new CheckpointFormatException(read == 0 ? "the file is empty" : "neither a zip archive (torch.save since 1.6) nor a pickle (torch.save before 1.6): not a PyTorch checkpoint");
    }

    static string Reason(Exception e) => CheckpointFormatException.Printable(e is Razorvine.Pickle.PickleException && e.InnerException != null
        ? $"{e.Message}: {e.InnerException.Message}"
        : $"{e.GetType().Name}: {e.Message}", 300);

    /// <summary>Paths to tensors; a shared container is walked once (a tensor may still appear under several paths).</summary>
    static Dictionary<string, Tensor> FlattenTensors(object? root)
    {
        var result = new Dictionary<string, Tensor>();
        var walked = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(string Path, object? Value)>();
        pending.Push(("", root));
        while (pending.Count > 0)
        {
            var (path, value) = pending.Pop();
            switch (value)
            {
                case Tensor t:
                    result[path] = t;
                    break;
                case IDictionary<object, object?> dict when walked.Add(dict):
                    foreach (var (key, item) in dict.Reverse()) pending.Push((Join(path, System.Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture)!), item));
                    break;
                case IList list and not byte[] when walked.Add(list):
                    for (int i = list.Count - 1; i >= 0; i--) pending.Push((Join(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), list[i]));
                    break;
            }
        }
        return result;
    }

    static string Join(string path, string key) => path.Length == 0 ? key : path + "/" + key;

    /// <summary>Disposes every tensor and storage the reader created: <see cref="Tensors"/> are unusable afterwards.</summary>
    public void Dispose()
    {
        foreach (var tensor in owned) tensor.Dispose();
    }
}
