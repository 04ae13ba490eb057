using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Models.Formats.TorchScript;

/// <summary>
/// A TorchScript model (torch.jit.trace or torch.jit.script, then save) loaded by TorchSharp's
/// libtorch (<c>torch.jit.load</c>), as a module that returns one [N, classes] tensor. The script's
/// own forward runs, so gradients flow to the input as in PyTorch; its parameters are the
/// network's (frozen by attacks like any module's). A forward that returns several tensors is
/// narrowed to the one shaped [N,K] (said in <see cref="Notes"/>), or refused. The file carries no
/// preprocessing: images are normalised by the caller (<c>ImportedModel</c>).
/// </summary>
public sealed class TorchScriptNetwork : nn.Module<Tensor, Tensor>
{
    /// <summary>
    /// The script module sits in a holder rather than a field of module type: TorchSharp registers
    /// module fields as children, and disposing a parent walks its children's submodules while
    /// disposing them, which for a script module reads its native handle after it was freed
    /// (ObjectDisposedException on every disposal, measured with TorchSharp 0.107). Parameters,
    /// buffers, mode and device moves are forwarded to it instead.
    /// </summary>
    sealed class Holder(jit.ScriptModule module)
    {
        public jit.ScriptModule Module { get; } = module;
    }

    readonly Holder holder;
    int outputIndex = -1;

    jit.ScriptModule script => holder.Module;

    TorchScriptNetwork(string source, jit.ScriptModule script) : base("TorchScriptNetwork")
    {
        Source = source;
        holder = new Holder(script);
    }

    /// <summary>The script module's parameters, by name.</summary>
    public override IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true) => script.named_parameters(recurse);

    /// <summary>The script module's parameters (this wrapper registers none of its own).</summary>
    public override IEnumerable<Parameter> parameters(bool recurse = true) => script.parameters(recurse);

    /// <summary>The script module's buffers, by name.</summary>
    public override IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true, bool include_nonpersistent = true) => script.named_buffers(recurse, include_nonpersistent);

    /// <summary>The script module's buffers.</summary>
    public override IEnumerable<Tensor> buffers(bool recurse = true, bool include_nonpersistent = true) => script.buffers(recurse, include_nonpersistent);

    /// <summary>Moves the script module to <paramref name="device"/> and converts it to <paramref name="dtype"/>.</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        script.to(device, dtype, non_blocking);
        return this;
    }

    /// <summary>Moves the script module to the device <paramref name="deviceType"/>:<paramref name="deviceIndex"/>.</summary>
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        script.to(deviceType, deviceIndex, non_blocking);
        return this;
    }

    /// <summary>Converts the script module's parameters and buffers to <paramref name="dtype"/>.</summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        script.to(dtype, non_blocking);
        return this;
    }

    /// <summary>Sets training or eval mode on the script module and on this module.</summary>
    public override void train(bool train = true)
    {
        script.train(train);
        base.train(train);
    }

    /// <summary>Disposes the script module, then this module.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing) script.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>The TorchScript file it was loaded from.</summary>
    public string Source { get; }

    /// <summary>What the loader decided (an output chosen among several), for the user.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Loads the file on the CPU in eval mode, or raises <see cref="ReproInputException"/> naming it.</summary>
    public static TorchScriptNetwork Load(string path)
    {
        if (!File.Exists(path)) throw new ReproInputException($"TorchScript model file not found: {path}");
        jit.ScriptModule script;
        try
        {
            script = jit.load(path);
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
        {
            throw new ReproInputException($"{path}: libtorch cannot load it as TorchScript: {FirstLine(e.Message)}");
        }
        var network = new TorchScriptNetwork(path, script);
        network.eval();
        return network;
    }

    /// <summary>Runs the script's forward on <paramref name="images"/> (the graph's own input, already normalised) and returns the class scores [N,K].</summary>
    /// <exception cref="ReproInputException">The script's forward fails, or returns no single [N,K] tensor among several values.</exception>
    public override Tensor forward(Tensor images)
    {
        object result;
        try
        {
            result = script.call(images);
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException)
        {
            throw new ReproInputException($"{Source}: the TorchScript forward failed on images [{string.Join(",", images.shape)}]: {FirstLine(e.Message)}");
        }
        return Pick(result);
    }

    /// <summary>The class scores among what the script returned.</summary>
    Tensor Pick(object result)
    {
        if (result is Tensor single) return single;
        var tensors = result switch
        {
            object[] many => many,
            ITuple tuple => Enumerable.Range(0, tuple.Length).Select(i => tuple[i]).ToArray(),
            System.Collections.IEnumerable list => list.Cast<object>().ToArray(),
            _ => throw new ReproInputException($"{Source}: the TorchScript forward returns {result?.GetType().Name ?? "nothing"}, not a tensor of class scores"),
        };
        if (outputIndex < 0)
        {
            var scores = tensors.Select((t, i) => (t, i)).Where(p => p.t is Tensor { } x && x.dim() == 2).Select(p => p.i).ToArray();
            string shapes = string.Join(", ", tensors.Select(t => t is Tensor x ? $"[{string.Join(",", x.shape)}]" : t?.GetType().Name ?? "null"));
            if (scores.Length != 1) throw new ReproInputException($"{Source}: the TorchScript forward returns {tensors.Length} values ({shapes}); expected one tensor of class scores [N,K]");
            outputIndex = scores[0];
            Notes.Add($"the TorchScript forward returns {tensors.Length} values ({shapes}): using output {outputIndex}, the only one shaped [N,K]");
        }
        for (int i = 0; i < tensors.Length; i++)
            if (i != outputIndex && tensors[i] is Tensor other) other.Dispose();
        return (Tensor)tensors[outputIndex]!;
    }

    static string FirstLine(string message) => message.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim() ?? message;
}
