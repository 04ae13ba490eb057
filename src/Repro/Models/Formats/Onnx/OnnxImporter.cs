using TorchSharp;
using static TorchSharp.torch;
using OnnxProto = global::Onnx;

namespace Repro.Models.Formats.Onnx;

/// <summary>How to read an ONNX image classifier where the file leaves a choice open.</summary>
public sealed record OnnxImportOptions
{
    /// <summary>Height and width for an input whose spatial size the file leaves symbolic (224 when not given); must match a size the file fixes.</summary>
    public (int Height, int Width)? InputSize { get; init; }
    /// <summary>The input's layout: null reads it from the declared shape ([N,H,W,3] is channels-last), true/false forces it.</summary>
    public bool? ChannelsLast { get; init; }
    /// <summary>Which graph output holds the class scores, when the file has several.</summary>
    public string? OutputName { get; init; }
}

/// <summary>
/// Builds an <see cref="OnnxNetwork"/> from an ONNX file. In order: the initialisers are read with
/// checked sizes; the graph is sorted (cycles refused); each node's operator is built, its attributes
/// checked, and nodes whose inputs are all constant are folded (the pads arithmetic PyTorch writes,
/// Constant nodes); the rest is run on one and on two dummy images, which checks every shape, finds
/// the values computed from the input's shape (Shape, Gather, Concat... of a flatten) and folds them
/// into intercept + slope x batch, and tells whether the file fixes a batch of one; the output is
/// chosen, a terminal Softmax/LogSoftmax dropped (the network returns logits), unused nodes removed,
/// and a final linear classifier found for the representation. Every refusal names the file and,
/// where there is one, the node and its operator.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Default height and width where the file does not fix them.</summary>
    public const int DefaultInputSize = 224;

    static readonly string[] ShapeOnly = ["Identity", "Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze"];

    /// <summary>Operators through which a value computed from the input's shape stays affine in the batch size.</summary>
    static readonly string[] AffineInBatch = ["Shape", "Gather", "Slice", "Concat", "Unsqueeze", "Squeeze", "Identity", "Cast", "Reshape", "Flatten", "Transpose", "Add", "Sub", "Mul"];

    /// <summary>Reads, checks and imports an ONNX classifier as an <see cref="OnnxNetwork"/> in eval mode on the CPU, taking the graph's own input.</summary>
    /// <param name="path">The .onnx file; external data must sit in its folder.</param>
    /// <param name="options">Input size, layout and output choice where the file leaves them open; null for the defaults.</param>
    /// <exception cref="ReproInputException">The file is not a readable ONNX model, or uses what the importer does not support; the message names the file and, where there is one, the node.</exception>
    public static OnnxNetwork Load(string path, OnnxImportOptions? options = null)
    {
        var model = OnnxFile.Read(path);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        bool was = OnnxLimits.Importing;
        OnnxLimits.Importing = true;
        try
        {
            var network = new OnnxNetwork(Import(model, path, folder, options ?? new OnnxImportOptions()));
            network.eval();
            return network;
        }
        finally
        {
            OnnxLimits.Importing = was;
        }
    }

    sealed class Constants(Dictionary<string, Tensor> values, string folder) : IOnnxConstants
    {
        public Tensor? Constant(string name) => values.GetValueOrDefault(name);
        public string? Folder => folder;
    }

    sealed class Trace
    {
        public readonly Dictionary<string, long[]> Shapes = new(StringComparer.Ordinal);
        public readonly Dictionary<string, Tensor> ShapeValues = new(StringComparer.Ordinal);
    }

    static OnnxImportResult Import(OnnxProto.ModelProto model, string source, string folder, OnnxImportOptions options)
    {
        var notes = new List<string>();
        long opset = OnnxFile.DefaultOpset(model)!.Value;
        if (opset > OnnxFile.MaxOpset)
            notes.Add($"opset {opset} is newer than the {OnnxFile.MinOpset}-{OnnxFile.MaxOpset} the importer was checked against; its operators are read as in opset {OnnxFile.MaxOpset}");
        var graph = model.Graph;
        if (graph.SparseInitializer.Count > 0) throw new ReproInputException($"{source}: sparse initialisers are not supported");

        var constants = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var initialisers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in graph.Initializer)
        {
            if (string.IsNullOrEmpty(init.Name)) throw new ReproInputException($"{source}: an initialiser has no name");
            if (!constants.TryAdd(init.Name, OnnxTensors.ToTorch(init, source, $"initialiser '{init.Name}'", folder).DetachFromDisposeScope()))
                throw new ReproInputException($"{source}: initialiser '{init.Name}' is given twice");
            initialisers.Add(init.Name);
        }

        var images = OnnxGraph.ImageInputs(graph);
        if (images.Count != 1)
            throw new ReproInputException($"{source}: the graph takes {images.Count} inputs besides its initialisers ({string.Join(", ", images.Select(i => $"'{i.Name}'"))}); the importer takes one image input");
        var input = images[0];
        var (inputShape, declaredBatch, channelsLast) = InputShape(input, options, source, notes);

        var opsets = model.OpsetImport.GroupBy(o => o.Domain is "" or "ai.onnx" ? "" : o.Domain).ToDictionary(g => g.Key, g => g.Max(o => o.Version));
        var nodes = graph.Node.Select((n, i) =>
        {
            string domain = n.Domain is "" or "ai.onnx" ? "" : n.Domain;
            long version = opsets.GetValueOrDefault(domain, opset);
            return new OnnxNode(n, i, (int)Math.Clamp(version, 1, OnnxFile.MaxOpset), source);
        }).ToList();
        string[] outputs = graph.Output.Select(o => o.Name).ToArray();
        if (outputs.Length == 0) throw new ReproInputException($"{source}: the graph has no outputs");
        (nodes, outputs) = Reachable(nodes, outputs, options.OutputName, source, notes);
        var given = new HashSet<string>(constants.Keys, StringComparer.Ordinal) { input.Name };
        var sorted = OnnxGraph.Sort(nodes, given, outputs, source);

        // Build every operator; fold the nodes whose inputs are all constant.
        var context = new Constants(constants, folder);
        var runtime = new List<(OnnxNode Node, OnnxOp Op)>();
        using (no_grad())
        {
            foreach (var node in sorted.Nodes)
            {
                var op = OnnxOperators.Create(node, context);
                for (int o = op.ComputedOutputs; o < node.Outputs.Length; o++)
                    if (node.Outputs[o].Length > 0 && (sorted.Readers.ContainsKey(node.Outputs[o]) || outputs.Contains(node.Outputs[o])))
                        throw node.Error($"output {o} ('{node.Outputs[o]}') is read, but the importer computes only the first {op.ComputedOutputs}");
                if (node.Inputs.Where(i => i.Length > 0).All(constants.ContainsKey))
                {
                    var folded = RunChecked(op, node.Inputs.Select(i => i.Length > 0 ? constants[i] : null).ToArray(), "folding constants");
                    for (int o = 0; o < Math.Min(folded.Length, node.Outputs.Length); o++)
                        if (node.Outputs[o].Length > 0) constants[node.Outputs[o]] = folded[o].DetachFromDisposeScope();
                }
                else runtime.Add((node, op));
            }
        }
        foreach (string o in outputs)
            if (constants.ContainsKey(o)) throw new ReproInputException($"{source}: graph output '{o}' is a constant: it does not depend on the image");

        // Run the rest on one and on two images.
        var one = RunTrace(runtime, constants, input.Name, inputShape, 1, source);
        Trace? two = null;
        string? batchProblem = null;
        try { two = RunTrace(runtime, constants, input.Name, inputShape, 2, source); }
        catch (ReproInputException e) { batchProblem = e.Message; }

        string output = ChooseOutput(outputs, one, options.OutputName, source, notes);
        if (one.Shapes[output] is not [1, ..]) throw new ReproInputException($"{source}: output '{output}' is {Shape(one.Shapes[output])} for one image: its first axis is not the batch");
        bool perExample = false;
        if (two is null || two.Shapes[output] is not [2, ..])
        {
            batchProblem ??= $"output '{output}' is {Shape(two!.Shapes[output])} for two images";
            if (declaredBatch != 1) throw new ReproInputException($"{source}: the graph does not run on a batch of two images: {batchProblem}");
            perExample = true;
            notes.Add("the file fixes a batch of one image (a batch of two fails: " + batchProblem.Replace(source + ": ", "") + "); images run one at a time");
        }

        // A terminal softmax: dropped, so that the network returns logits.
        var substitute = new Dictionary<string, string>(StringComparer.Ordinal);
        var dropped = new HashSet<OnnxNode>();
        var runtimeNodes = runtime.Select(r => r.Node).ToHashSet();
        var (softmax, softmaxOut) = TerminalSoftmax(output, sorted, runtimeNodes, outputs);
        if (softmax is not null)
        {
            var op = (Ops.SoftmaxOp)runtime.First(r => r.Node == softmax).Op;
            long[] shape = one.Shapes[softmax.Inputs[0]];
            long axis = softmax.Int("axis", softmax.Opset < 13 ? 1 : -1);
            long a = axis < 0 ? axis + shape.Length : axis;
            bool overClasses = a == 1 && (softmax.Opset < 13 || shape.Skip(2).All(d => d == 1));
            if (overClasses)
            {
                substitute[softmaxOut!] = softmax.Inputs[0];
                dropped.Add(softmax);
                notes.Add($"the file ends in {softmax.OpType} ({softmax.Describe()}): dropped, so the model returns logits{(op.IsLog ? "" : " (probabilities would flatten the attacks' gradients)")}");
            }
            else notes.Add($"{softmax.Describe()} normalises axis {axis} of {Shape(shape)}, not the classes: kept");
        }
        string Resolve(string name) => substitute.TryGetValue(name, out var s) ? s : name;
        string final = Resolve(output);

        long[] outputShape = one.Shapes[final];
        bool flattens = outputShape.Length > 2 && outputShape.Skip(2).All(d => d == 1);
        if (outputShape.Length != 2 && !flattens)
            throw new ReproInputException($"{source}: output '{output}' is {Shape(outputShape)} for one image: expected one vector of class scores per image ([N,K] or [N,K,1,1])");
        int classes = checked((int)outputShape[1]);
        if (classes < 2) throw new ReproInputException($"{source}: output '{output}' has {classes} score per image: a classifier needs at least two");
        if (flattens) notes.Add($"output '{output}' is {Shape(outputShape)}: flattened to [N,{classes}]");

        // Keep the nodes the output needs; fold the shape arithmetic into templates.
        var needed = Needed(final, sorted, runtimeNodes, dropped, Resolve);
        var templates = new Dictionary<string, ShapeTemplate>(StringComparer.Ordinal);
        var batchDependent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, _) in runtime.Where(r => needed.Contains(r.Node)))
        {
            var used = node.Outputs.Where(o => o.Length > 0).ToArray();
            bool affine = AffineInBatch.Contains(node.OpType)
                && !(node.OpType == "Mul" && node.Inputs.Count(i => batchDependent.Contains(Resolve(i))) > 1);
            if (!affine || !used.All(o => one.ShapeValues.ContainsKey(o) && (perExample || two!.ShapeValues.TryGetValue(o, out var v2) && v2.shape.SequenceEqual(one.ShapeValues[o].shape))))
                continue;
            foreach (string o in used)
            {
                var v1 = one.ShapeValues[o];
                var slope = perExample ? zeros_like(v1) : two!.ShapeValues[o] - v1;
                templates[o] = new ShapeTemplate((v1 - slope).DetachFromDisposeScope(), slope.DetachFromDisposeScope());
                if (slope.ne(0).any().item<bool>()) batchDependent.Add(o);
            }
        }
        needed = Needed(final, sorted, runtimeNodes, dropped, Resolve, templates.ContainsKey);
        if (templates.Count > 0) notes.Add($"{templates.Count} values computed from the input's shape (Shape, Gather, Concat, ...) folded at import");

        // The classifier head, for the representation.
        var ordered = runtime.Where(r => needed.Contains(r.Node)).ToList();
        var (head, representation) = FindHead(final, sorted, ordered.Select(r => r.Node).ToHashSet(), constants, templates, Resolve);
        if (head.Count > 0) ordered = [.. ordered.Where(r => !head.Contains(r.Node)), .. ordered.Where(r => head.Contains(r.Node))];

        // Slots: the input, the constants the program reads, templates, and computed values.
        var slots = new List<OnnxSlot>();
        var slotOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var batchNormStatistics = ordered.Where(r => r.Node.OpType == "BatchNormalization").SelectMany(r => r.Node.Inputs.Skip(3).Take(2)).ToHashSet(StringComparer.Ordinal);
        var moduleNames = new HashSet<string>(StringComparer.Ordinal);
        int Slot(string name)
        {
            name = Resolve(name);
            if (slotOf.TryGetValue(name, out int s)) return s;
            OnnxSlot slot;
            if (name == input.Name) slot = new OnnxSlot(name, OnnxSlotKind.Input);
            else if (templates.TryGetValue(name, out var t)) slot = new OnnxSlot(name, OnnxSlotKind.Template) { Template = t };
            else if (constants.TryGetValue(name, out var c))
            {
                var kind = !c.is_floating_point() ? OnnxSlotKind.Constant
                    : initialisers.Contains(name) && !batchNormStatistics.Contains(name) ? OnnxSlotKind.Parameter : OnnxSlotKind.Buffer;
                slot = new OnnxSlot(name, kind) { Constant = c, ModuleName = kind == OnnxSlotKind.Constant ? null : ModuleName(name, moduleNames) };
            }
            else slot = new OnnxSlot(name, OnnxSlotKind.Computed);
            slots.Add(slot);
            return slotOf[name] = slots.Count - 1;
        }
        Slot(input.Name);
        var readers = new HashSet<string>(ordered.SelectMany(r => r.Node.Inputs.Where(i => i.Length > 0).Select(Resolve)), StringComparer.Ordinal) { final };
        var steps = ordered.Select(r => new OnnxStep(
            r.Op,
            r.Node.Inputs.Select(i => i.Length > 0 ? Slot(i) : -1).ToArray(),
            r.Node.Outputs.Select(o => o.Length > 0 && readers.Contains(o) ? Slot(o) : -1).ToArray())).ToArray();
        int outputSlot = Slot(final);
        int representationSlot = representation is null ? -1 : Slot(representation);

        foreach (var unused in constants.Keys.Where(k => !slotOf.ContainsKey(k)).ToList())
            constants[unused].Dispose();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in model.MetadataProps) metadata[entry.Key] = entry.Value;
        if (outputs.Length > 1) notes.Add($"outputs not used: {string.Join(", ", outputs.Where(o => o != output).Select(o => $"'{o}'"))}");

        return new OnnxImportResult
        {
            Source = source, Opset = opset, InputName = input.Name, InputShape = inputShape, ChannelsLast = channelsLast, OutputName = output,
            ClassCount = classes, PerExample = perExample, FlattensOutput = flattens, Notes = notes, Metadata = metadata,
            Slots = slots.ToArray(), Steps = steps, InputSlot = 0, OutputSlot = outputSlot,
            RepresentationSlot = representationSlot, HeadStart = steps.Length - head.Count,
            RepresentationShape = representation is null ? [] : one.Shapes.TryGetValue(representation, out var rs) ? rs[1..] : inputShape,
        };
    }

    /// <summary>
    /// The nodes the outputs need. A chosen output (<see cref="ModelImportOptions.OutputName"/>) keeps only its own nodes; without
    /// one, outputs that need an operator the importer lacks (an ArgMax label beside the scores, say)
    /// are set aside with a note, as long as another output remains.
    /// </summary>
    static (List<OnnxNode> Nodes, string[] Outputs) Reachable(List<OnnxNode> nodes, string[] outputs, string? wanted, string source, List<string> notes)
    {
        var producer = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var node in nodes)
            foreach (string o in node.Outputs.Where(o => o.Length > 0)) producer.TryAdd(o, node);
        HashSet<OnnxNode> Upstream(string output)
        {
            var found = new HashSet<OnnxNode>();
            var stack = new Stack<string>([output]);
            while (stack.Count > 0)
                if (producer.TryGetValue(stack.Pop(), out var node) && found.Add(node))
                    foreach (string i in node.Inputs.Where(i => i.Length > 0)) stack.Push(i);
            return found;
        }
        if (wanted is not null)
        {
            if (!outputs.Contains(wanted)) throw new ReproInputException($"{source}: no output named '{wanted}' (outputs: {string.Join(", ", outputs.Select(o => $"'{o}'"))})");
            var mine = Upstream(wanted);
            return (nodes.Where(mine.Contains).ToList(), [wanted]);
        }
        if (outputs.Length == 1) return (nodes, outputs);
        var upstream = outputs.ToDictionary(o => o, Upstream);
        var usable = outputs.Where(o => upstream[o].All(OnnxOperators.IsSupported)).ToArray();
        if (usable.Length == 0 || usable.Length == outputs.Length) return (nodes, outputs);
        foreach (string o in outputs.Except(usable))
        {
            var missing = upstream[o].Where(n => !OnnxOperators.IsSupported(n)).Select(n => n.OpType).Distinct();
            notes.Add($"output '{o}' is not read: it needs {string.Join(", ", missing)}, which the importer does not implement");
        }
        var kept = usable.SelectMany(o => upstream[o]).ToHashSet();
        return (nodes.Where(kept.Contains).ToList(), usable);
    }

    /// <summary>
    /// The image input's shape without the batch axis, in the graph's own layout. Symbolic height and
    /// width take <see cref="OnnxImportOptions.InputSize"/> (else 224); a symbolic channel count is 3.
    /// </summary>
    static (long[] Shape, long? DeclaredBatch, bool ChannelsLast) InputShape(OnnxProto.ValueInfoProto input, OnnxImportOptions options, string source, List<string> notes)
    {
        var tensorType = input.Type?.TensorType ?? throw new ReproInputException($"{source}: input '{input.Name}' is not a tensor");
        var elementType = (OnnxProto.TensorProto.Types.DataType)tensorType.ElemType;
        if (elementType != OnnxProto.TensorProto.Types.DataType.Float)
            throw new ReproInputException($"{source}: input '{input.Name}' is {OnnxTensors.Name(elementType)}: the importer takes float32 image inputs");
        long?[] dims = tensorType.Shape is null
            ? [null, null, null, null]
            : tensorType.Shape.Dim.Select(d => d.ValueCase == OnnxProto.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : (long?)null).ToArray();
        if (dims.Length != 4)
            throw new ReproInputException($"{source}: input '{input.Name}' has {dims.Length} axes: the importer takes image batches [N,C,H,W] or [N,H,W,C]");
        bool channelsLast = options.ChannelsLast ?? (dims[3] is 1 or 3 && dims[1] is not (1 or 3));
        if (options.ChannelsLast is null && channelsLast) notes.Add($"input '{input.Name}' is [N,H,W,C] ({Shape(dims)}): images are given channels-last");
        long? c = channelsLast ? dims[3] : dims[1], h = channelsLast ? dims[1] : dims[2], w = channelsLast ? dims[2] : dims[3];
        if (options.InputSize is (int ih, int iw) && (h is not null && h != ih || w is not null && w != iw))
            throw new ReproInputException($"{source}: input '{input.Name}' is {Shape(dims)}: it fixes {h}x{w}, so an input size of {ih}x{iw} (options.InputSize) does not fit");
        if (h is null || w is null)
        {
            h ??= options.InputSize?.Height ?? DefaultInputSize;
            w ??= options.InputSize?.Width ?? DefaultInputSize;
            notes.Add($"input '{input.Name}' leaves its size open: using {h}x{w}{(options.InputSize is null ? " (options.InputSize)" : "")}");
        }
        if (c is null)
        {
            c = 3;
            notes.Add($"input '{input.Name}' leaves its channel count open: using 3");
        }
        if (c > 64 || h > 8192 || w > 8192 || c * h * w > 1L << 26)
            throw new ReproInputException($"{source}: input '{input.Name}' is {c}x{h}x{w}: larger than an image the importer takes");
        long[] shape = channelsLast ? [h.Value, w.Value, c.Value] : [c.Value, h.Value, w.Value];
        return (shape, dims[0], channelsLast);
    }

    static Trace RunTrace(List<(OnnxNode Node, OnnxOp Op)> runtime, Dictionary<string, Tensor> constants, string inputName, long[] inputShape, long batch, string source)
    {
        var trace = new Trace();
        var lastRead = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < runtime.Count; i++)
            foreach (string name in runtime[i].Node.Inputs.Where(n => n.Length > 0)) lastRead[name] = i;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            [inputName] = rand([batch, .. inputShape], generator: new Generator(0)),
        };
        trace.Shapes[inputName] = [batch, .. inputShape];
        var derived = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < runtime.Count; i++)
        {
            var (node, op) = runtime[i];
            var inputs = node.Inputs.Select(n => n.Length == 0 ? null
                : constants.TryGetValue(n, out var c) ? c
                : values.TryGetValue(n, out var v) ? v
                : throw node.Error($"reads '{n}' before it is computed")).ToArray();
            var outs = RunChecked(op, inputs, $"on {(batch == 1 ? "one image" : $"{batch} images")} of {Shape(trace.Shapes[inputName])}");
            var dynamicInputs = node.Inputs.Where(n => n.Length > 0 && !constants.ContainsKey(n)).ToArray();
            bool fromShape = node.OpType == "Shape" || dynamicInputs.Length > 0 && dynamicInputs.All(derived.Contains);
            for (int o = 0; o < node.Outputs.Length && o < outs.Length; o++)
            {
                string name = node.Outputs[o];
                if (name.Length == 0) continue;
                values[name] = outs[o];
                trace.Shapes[name] = outs[o].shape;
                if (fromShape && outs[o].numel() <= 4096)
                {
                    derived.Add(name);
                    trace.ShapeValues[name] = outs[o].to(CPU).clone().DetachFromDisposeScope();
                }
            }
            foreach (string name in node.Inputs.Where(n => n.Length > 0 && !constants.ContainsKey(n) && n != inputName))
                if (lastRead[name] == i && values.Remove(name, out var done)) done.Dispose();
        }
        return trace;
    }

    static Tensor[] RunChecked(OnnxOp op, Tensor?[] inputs, string when)
    {
        try
        {
            return op.Run(inputs);
        }
        catch (ReproInputException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string shapes = string.Join(", ", inputs.Select(t => t is null ? "-" : Shape(t.shape)));
            throw op.Node.Error($"failed {when} (inputs {shapes}): {e.Message.Split('\n')[0]}");
        }
    }

    static string ChooseOutput(string[] outputs, Trace one, string? wanted, string source, List<string> notes)
    {
        string Describe(string o) => $"'{o}' {Shape(one.Shapes[o])}";
        if (wanted is not null)
        {
            if (!outputs.Contains(wanted)) throw new ReproInputException($"{source}: no output named '{wanted}' (outputs: {string.Join(", ", outputs.Select(Describe))})");
            return wanted;
        }
        if (outputs.Length == 1) return outputs[0];
        var scores = outputs.Where(o => one.Shapes[o] is [1, > 1] || one.Shapes[o] is [1, > 1, 1, 1]).ToArray();
        if (scores.Length == 1)
        {
            notes.Add($"the file has {outputs.Length} outputs ({string.Join(", ", outputs.Select(Describe))}): using {Describe(scores[0])}, the only one shaped like class scores (choose another with options.OutputName)");
            return scores[0];
        }
        throw new ReproInputException($"{source}: the file has {outputs.Length} outputs ({string.Join(", ", outputs.Select(Describe))}); name the class scores with options.OutputName");
    }

    /// <summary>A Softmax/LogSoftmax whose output reaches the chosen output only through shape-only nodes, and is read by nothing else.</summary>
    static (OnnxNode? Node, string? Output) TerminalSoftmax(string output, OnnxGraph graph, HashSet<OnnxNode> runtime, string[] outputs)
    {
        string value = output;
        while (graph.Producers.TryGetValue(value, out var node) && runtime.Contains(node))
        {
            int readers = graph.Readers.GetValueOrDefault(value) + outputs.Count(o => o == value);
            if (readers != 1) return (null, null);
            if (node.OpType is "Softmax" or "LogSoftmax") return (node, value);
            if (!ShapeOnly.Contains(node.OpType) || node.Inputs.Length == 0) return (null, null);
            value = node.Inputs[0];
        }
        return (null, null);
    }

    static HashSet<OnnxNode> Needed(string final, OnnxGraph graph, HashSet<OnnxNode> runtime, HashSet<OnnxNode> dropped, Func<string, string> resolve, Func<string, bool>? folded = null)
    {
        var needed = new HashSet<OnnxNode>();
        var stack = new Stack<string>([final]);
        while (stack.Count > 0)
        {
            string value = resolve(stack.Pop());
            if (folded is not null && folded(value)) continue;
            if (!graph.Producers.TryGetValue(value, out var node) || !runtime.Contains(node) || dropped.Contains(node) || !needed.Add(node)) continue;
            foreach (string i in node.Inputs.Where(i => i.Length > 0)) stack.Push(i);
        }
        return needed;
    }

    /// <summary>
    /// The classifier at the end: walking back from the output through shape-only nodes, a Gemm
    /// (without transA) or a MatMul (with or without an Add of a constant bias). Its data input is
    /// the representation, provided the head reads nothing else but constants.
    /// </summary>
    static (HashSet<OnnxNode> Head, string? Representation) FindHead(string final, OnnxGraph graph, HashSet<OnnxNode> program,
        Dictionary<string, Tensor> constants, Dictionary<string, ShapeTemplate> templates, Func<string, string> resolve)
    {
        var head = new HashSet<OnnxNode>();
        string value = final;
        OnnxNode? Producer(string v) => graph.Producers.TryGetValue(resolve(v), out var n) && program.Contains(n) ? n : null;
        var node = Producer(value);
        while (node is not null && ShapeOnly.Contains(node.OpType))
        {
            head.Add(node);
            node = Producer(node.Inputs[0]);
        }
        string? representation = null;
        if (node is { OpType: "Gemm" } && node.Int("transA", 0) == 0 || node is { OpType: "MatMul" })
        {
            head.Add(node!);
            representation = node!.Inputs[0];
        }
        else if (node is { OpType: "Add" } && node.Inputs.Length == 2)
        {
            int bias = constants.ContainsKey(node.Inputs[0]) ? 0 : constants.ContainsKey(node.Inputs[1]) ? 1 : -1;
            if (bias >= 0 && Producer(node.Inputs[1 - bias]) is { OpType: "MatMul" } matmul)
            {
                head.Add(node);
                head.Add(matmul);
                representation = matmul.Inputs[0];
            }
        }
        if (representation is null) return ([], null);
        representation = resolve(representation);
        var outputs = head.SelectMany(n => n.Outputs).ToHashSet(StringComparer.Ordinal);
        foreach (var n in head)
            foreach (string i in n.Inputs.Where(i => i.Length > 0).Select(resolve))
                if (i != representation && !outputs.Contains(i) && !constants.ContainsKey(i) && !templates.ContainsKey(i))
                    return ([], null);
        return (head, representation);
    }

    static string ModuleName(string onnxName, HashSet<string> taken)
    {
        var chars = onnxName.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_' ? ch : '_').ToArray();
        string name = "w_" + new string(chars);
        string unique = name;
        for (int k = 2; !taken.Add(unique); k++) unique = $"{name}_{k}";
        return unique;
    }

    static string Shape(IEnumerable<long> dims) => $"[{string.Join(",", dims)}]";

    static string Shape(IEnumerable<long?> dims) => $"[{string.Join(",", dims.Select(d => d?.ToString() ?? "?"))}]";
}

/// <summary>What <see cref="OnnxImporter"/> hands to <see cref="OnnxNetwork"/>.</summary>
internal sealed class OnnxImportResult
{
    public required string Source { get; init; }
    public required long Opset { get; init; }
    public required string InputName { get; init; }
    public required long[] InputShape { get; init; }
    public required bool ChannelsLast { get; init; }
    public required string OutputName { get; init; }
    public required int ClassCount { get; init; }
    public required bool PerExample { get; init; }
    public required bool FlattensOutput { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    public required OnnxSlot[] Slots { get; init; }
    public required OnnxStep[] Steps { get; init; }
    public required int InputSlot { get; init; }
    public required int OutputSlot { get; init; }
    public required int RepresentationSlot { get; init; }
    public required int HeadStart { get; init; }
    public required long[] RepresentationShape { get; init; }
}
