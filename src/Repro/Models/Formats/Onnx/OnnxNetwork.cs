using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// An ONNX classifier as a differentiable TorchSharp module, built by <see cref="OnnxImporter"/>.
/// It takes the graph's own input (its layout and value range: normalisation is the caller's, see
/// <c>ImportedModel</c>) and returns one [N, classes] tensor: the terminal softmax dropped, a
/// [N,K,1,1] output flattened. Weights are registered parameters (frozen by attacks like any
/// module's); each intermediate value is freed after its last reader. Where the file fixes a batch
/// of one (a constant reshape to [1, ...]), images run one at a time.
/// </summary>
public sealed class OnnxNetwork : nn.Module<Tensor, Tensor>
{
    readonly OnnxSlot[] slots;
    readonly OnnxStep[] steps;
    readonly int inputSlot, outputSlot, representationSlot, headStart;
    readonly int[] lastUse;
    readonly long[] representationShape;

    internal OnnxNetwork(OnnxImportResult r) : base("OnnxNetwork")
    {
        slots = r.Slots;
        steps = r.Steps;
        inputSlot = r.InputSlot;
        outputSlot = r.OutputSlot;
        representationSlot = r.RepresentationSlot;
        headStart = r.HeadStart;
        representationShape = r.RepresentationShape;
        Source = r.Source;
        Opset = r.Opset;
        InputName = r.InputName;
        InputShape = r.InputShape;
        ChannelsLast = r.ChannelsLast;
        OutputName = r.OutputName;
        ClassCount = r.ClassCount;
        PerExample = r.PerExample;
        FlattensOutput = r.FlattensOutput;
        Notes = r.Notes;
        Metadata = r.Metadata;
        foreach (var slot in slots)
        {
            if (slot.Kind == OnnxSlotKind.Parameter) register_parameter(slot.ModuleName!, new Parameter(slot.Constant!, requires_grad: true));
            else if (slot.Kind == OnnxSlotKind.Buffer) register_buffer(slot.ModuleName!, slot.Constant!, persistent: true);
        }
        lastUse = Enumerable.Repeat(-1, slots.Length).ToArray();
        for (int s = 0; s < steps.Length; s++)
            foreach (int i in steps[s].Inputs)
                if (i >= 0) lastUse[i] = s;
    }

    /// <summary>The .onnx file.</summary>
    public string Source { get; }
    /// <summary>The default-domain opset the operators are read with.</summary>
    public long Opset { get; }
    /// <summary>The name of the graph's image input.</summary>
    public string InputName { get; }
    /// <summary>The input the graph takes, without the batch axis ([C,H,W], or [H,W,C] for a channels-last graph).</summary>
    public long[] InputShape { get; }
    /// <summary>True when the graph takes images channels-last ([N,H,W,C]).</summary>
    public bool ChannelsLast { get; }
    /// <summary>The name of the graph output used as the class scores.</summary>
    public string OutputName { get; }
    /// <summary>The number of classes K the network returns.</summary>
    public int ClassCount { get; }
    /// <summary>True where the file fixes a batch of one: images run one at a time.</summary>
    public bool PerExample { get; }
    /// <summary>True when the file's output is [N,K,1,1] (or [N,K,1]) and is flattened to [N,K].</summary>
    public bool FlattensOutput { get; }
    /// <summary>What the importer decided and why (terminal softmax dropped, output chosen, ...), for the user.</summary>
    public IReadOnlyList<string> Notes { get; }
    /// <summary>The model's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    internal IReadOnlyList<OnnxStep> Steps => steps;

    /// <summary>True when the graph ends in a linear classifier (Gemm or MatMul) whose input is the representation.</summary>
    public bool HasRepresentation => representationSlot >= 0;
    /// <summary>The number of representation components D (product of the classifier input's shape without the batch axis).</summary>
    public long RepresentationSize => representationShape.Aggregate(1L, (p, d) => p * d);

    /// <summary>Runs the graph on <paramref name="input"/> [N, ...<see cref="InputShape"/>] (the graph's own layout and range) and returns [N, <see cref="ClassCount"/>].</summary>
    /// <exception cref="ArgumentException">The input is not [N, ...<see cref="InputShape"/>].</exception>
    /// <exception cref="ReproInputException">A node fails to run on it.</exception>
    public override Tensor forward(Tensor input)
    {
        CheckInput(input);
        return PerExampleOr(input, x => Run(x, null, 0, steps.Length, outputSlot, FlattensOutput));
    }

    /// <summary>[N, ...input] to the classifier's input, flattened to [N, RepresentationSize].</summary>
    public Tensor Representation(Tensor input)
    {
        if (!HasRepresentation) throw new ReproInputException($"{Source}: the graph does not end in a linear classifier (Gemm or MatMul), so it has no representation to visualise");
        CheckInput(input);
        return PerExampleOr(input, x => Run(x, null, 0, headStart, representationSlot, flatten: true));
    }

    /// <summary>[N, RepresentationSize] to [N, ClassCount]: the classifier and what follows it.</summary>
    public Tensor Head(Tensor representation)
    {
        if (!HasRepresentation) throw new ReproInputException($"{Source}: the graph has no linear classifier head");
        if (representation.dim() != 2 || representation.shape[1] != RepresentationSize)
            throw new ArgumentException($"expected a representation [N,{RepresentationSize}], got [{string.Join(",", representation.shape)}]");
        using var scope = NewDisposeScope();
        var shaped = representation.reshape([representation.shape[0], .. representationShape]);
        return PerExampleOr(shaped, r => Run(null, r, headStart, steps.Length, outputSlot, FlattensOutput)).MoveToOuterDisposeScope();
    }

    Tensor PerExampleOr(Tensor batch, Func<Tensor, Tensor> run)
    {
        if (!PerExample || batch.shape[0] == 1) return run(batch);
        using var scope = NewDisposeScope();
        return cat(batch.split(1).Select(run).ToArray(), 0).MoveToOuterDisposeScope();
    }

    Tensor Run(Tensor? input, Tensor? representation, int from, int to, int result, bool flatten)
    {
        using var scope = NewDisposeScope();
        long batch = (input ?? representation)!.shape[0];
        var values = new Tensor?[slots.Length];
        if (input is not null) values[inputSlot] = input;
        if (representation is not null) values[representationSlot] = representation;
        for (int s = from; s < to; s++)
        {
            var step = steps[s];
            var inputs = new Tensor?[step.Inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
                if (step.Inputs[i] >= 0) inputs[i] = values[step.Inputs[i]] ??= Resolve(step.Inputs[i], batch);
            Tensor[] outputs;
            try
            {
                outputs = step.Op.Run(inputs);
            }
            catch (Exception e) when (e is not ReproInputException and not ArgumentException)
            {
                throw step.Op.Node.Error($"failed: {e.Message.Split('\n')[0]}");
            }
            for (int o = 0; o < step.Outputs.Length; o++)
            {
                if (step.Outputs[o] < 0) continue;
                if (o >= outputs.Length) throw step.Op.Node.Error($"output {o} is read but not computed");
                values[step.Outputs[o]] = outputs[o];
            }
            foreach (int i in step.Inputs)
                if (i >= 0 && i != result && lastUse[i] == s && slots[i].Kind == OnnxSlotKind.Computed && values[i] is Tensor done && !ReferenceEquals(done, representation))
                {
                    done.Dispose();
                    values[i] = null;
                }
        }
        var y = values[result] ?? throw new InvalidOperationException($"{Source}: value '{slots[result].Name}' was not computed");
        if (flatten) y = y.reshape(y.shape[0], -1);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>A constant slot's tensor as the network holds it now (parameters and buffers follow to(device) and to(dtype)).</summary>
    Tensor Resolve(int slot, long batch)
    {
        var s = slots[slot];
        return s.Kind switch
        {
            OnnxSlotKind.Parameter => get_parameter(s.ModuleName!)!,
            OnnxSlotKind.Buffer => get_buffer(s.ModuleName!)!,
            OnnxSlotKind.Constant => s.Constant!,
            OnnxSlotKind.Template => s.Template!.At(batch),
            _ => throw new InvalidOperationException($"{Source}: value '{s.Name}' is read before it is computed"),
        };
    }

    void CheckInput(Tensor input)
    {
        if (input.dim() != InputShape.Length + 1 || !input.shape.Skip(1).SequenceEqual(InputShape))
            throw new ArgumentException($"{Path.GetFileName(Source)} expects its input '{InputName}' as [N,{string.Join(",", InputShape)}], got [{string.Join(",", input.shape)}]");
    }
}
