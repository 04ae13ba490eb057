using Repro.Models.Formats.PyTorch;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Models;

/// <summary>
/// A state_dict read from a file: <c>.safetensors</c> (via TorchSharp.PyBridge) or anything
/// <c>torch.save</c> wrote (<see cref="PyTorchCheckpoint"/>: a bare state_dict, or a training
/// checkpoint holding one under <c>model</c> / <c>state_dict</c>). Dispose when copied.
/// </summary>
internal sealed class StateDictFile : IDisposable
{
    readonly IDisposable? owner;
    readonly IReadOnlyList<Tensor> tensors;

    StateDictFile(IReadOnlyDictionary<string, Tensor> stateDict, IDisposable? owner, IReadOnlyList<Tensor> tensors)
    {
        StateDict = stateDict;
        this.owner = owner;
        this.tensors = tensors;
    }

    public IReadOnlyDictionary<string, Tensor> StateDict { get; }

    public static StateDictFile Read(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            Dictionary<string, Tensor> loaded;
            try { loaded = new Dictionary<string, Tensor>(Safetensors.LoadStateDict(path)); }
            catch (Exception e) when (e is not ReproInputException)
            {
                throw new ReproInputException($"{path}: not a readable safetensors file ({e.Message})", e);
            }
            foreach (var t in loaded.Values) t.DetachFromDisposeScope();
            return new StateDictFile(loaded, null, loaded.Values.ToList());
        }
        var checkpoint = PyTorchCheckpoint.Read(path);
        try
        {
            return new StateDictFile(checkpoint.StateDict(), checkpoint, []);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        owner?.Dispose();
        foreach (var t in tensors) t.Dispose();
    }
}
