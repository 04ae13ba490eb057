using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// A TensorFlow Lite image classifier as a float, differentiable TorchSharp module (built by
/// <see cref="TfliteImporter"/>). Images are [N,C,H,W] in [0,1], as everywhere in Repro; a quantised
/// input's scaling (its input tensor's quantisation) is applied inside, a float input is passed as
/// it is (its normalisation is the caller's). The program runs the file's operators in order; the
/// representation is the input of the final linear classifier (FULLY_CONNECTED, or a 1x1 CONV_2D
/// over a pooled vector: for MobileNetV2 the 1280-d vector); the softmax at the end of the file is
/// dropped so the output is logits, and for 1001-output models (TF-slim's "background" class at
/// index 0) logit 0 is dropped so the 1000 logits use the standard ImageNet indices. Activations
/// stay float: there is no fake quantisation (QUANTIZE/DEQUANTIZE pass values through), so results
/// differ slightly from the TFLite interpreter's integer arithmetic.
/// </summary>
internal sealed class TfliteNetwork : nn.Module<Tensor, Tensor>, IRepresentationModel
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    readonly nn.Module<Tensor, Tensor>? classifier;
    readonly TfliteStep[] steps;
    readonly TfLayout[] layouts;
    readonly int[] lastUse;
    readonly Dictionary<int, string> constants;
    readonly int tensorCount, inputTensor, outputTensor, representationTensor, headStart;
    readonly long[] representationShape;

    /// <summary>The file the network was read from.</summary>
    public string Source { get; }
    public int InputChannels { get; }
    public int InputHeight { get; }
    public int InputWidth { get; }
    /// <summary>The model sees Gain * p + Offset for a pixel p in [0,1] (from the input tensor's quantisation; 1 and 0 for a float input).</summary>
    public (float Gain, float Offset) InputScaling { get; }
    /// <summary>True when the file's input is a quantised image, whose quantisation says how pixels are scaled.</summary>
    public bool InputIsQuantised { get; }
    /// <summary>The size of the classifier's input (0 when the graph does not end in a linear classifier).</summary>
    public int RepresentationSize { get; }
    public bool HasRepresentation => representationTensor >= 0;
    /// <summary>Outputs of <see cref="Head"/> and <see cref="forward"/> (1000 for MobileNetV2 once background is dropped).</summary>
    public int ClassCount { get; }
    /// <summary>True when the file has 1001 outputs and output 0 ("background") is dropped.</summary>
    public bool DropsBackground { get; }
    /// <summary>What the importer decided (softmax dropped, background dropped), for the user.</summary>
    public IReadOnlyList<string> Notes { get; }
    public IReadOnlyList<TfliteStep> Steps => steps;
    /// <summary>The final linear layer (a <see cref="TfConv2d"/> or <see cref="TfFullyConnected"/>), or null.</summary>
    public nn.Module<Tensor, Tensor>? Classifier => classifier;

    internal TfliteNetwork(TfliteBuild b) : base("TfliteNetwork")
    {
        Source = b.Source;
        layers = nn.ModuleList(b.Layers.ToArray());
        classifier = b.Classifier;
        steps = b.Steps;
        layouts = b.Layouts;
        tensorCount = b.Layouts.Length;
        inputTensor = b.InputTensor;
        outputTensor = b.OutputTensor;
        representationTensor = b.RepresentationTensor;
        representationShape = b.RepresentationShape;
        headStart = b.HeadStart;
        (InputChannels, InputHeight, InputWidth) = b.Input;
        InputScaling = b.InputScaling;
        InputIsQuantised = b.InputIsQuantised;
        RepresentationSize = HasRepresentation ? (int)representationShape.Aggregate(1L, (p, d) => p * d) : 0;
        int outputs = b.OutputCount;
        DropsBackground = b.DropBackground ?? outputs == 1001;
        if (DropsBackground && outputs < 2) throw new ReproInputException($"{Source}: cannot drop a background class from {outputs} output");
        ClassCount = DropsBackground ? outputs - 1 : outputs;
        var notes = b.Notes.ToList();
        if (DropsBackground) notes.Add($"the file has {outputs} outputs: output 0 (background) is dropped, leaving {ClassCount} classes");
        Notes = notes;

        constants = new Dictionary<int, string>();
        foreach (var (index, value) in b.Constants)
        {
            string name = $"constant_{index}";
            register_buffer(name, value, persistent: true);
            constants[index] = name;
        }
        // Each intermediate activation is freed right after its last reader, so a batch holds only
        // the live tensors (residual inputs included) rather than all of them at once.
        lastUse = Enumerable.Repeat(-1, tensorCount).ToArray();
        for (int s = 0; s < steps.Length; s++)
            foreach (int t in steps[s].Inputs) lastUse[t] = s;
        RegisterComponents();
    }

    /// <summary>[N,C,H,W] images in [0,1] to the classifier's input, flattened to [N,RepresentationSize].</summary>
    public Tensor Representation(Tensor images)
    {
        if (!HasRepresentation) throw new ReproInputException($"{Source}: the graph does not end in a linear classifier (FULLY_CONNECTED or a 1x1 CONV_2D), so it has no representation to visualise");
        CheckImages(images);
        using var scope = NewDisposeScope();
        var value = Run(images, null, 0, headStart, representationTensor);
        return Native(value, layouts[representationTensor]).reshape(images.shape[0], -1).MoveToOuterDisposeScope();
    }

    /// <summary>[N,RepresentationSize] to [N,ClassCount] logits: the classifier and what follows it, background dropped.</summary>
    public Tensor Head(Tensor representation)
    {
        if (!HasRepresentation) throw new ReproInputException($"{Source}: the graph has no linear classifier head");
        if (representation.dim() != 2 || representation.shape[1] != RepresentationSize)
            throw new ArgumentException($"expected a representation [N,{RepresentationSize}], got [{string.Join(",", representation.shape)}]");
        using var scope = NewDisposeScope();
        var native = representation.reshape([representation.shape[0], .. representationShape]);
        var held = layouts[representationTensor] == TfLayout.Nchw ? native.permute(0, 3, 1, 2) : native;
        return Logits(Run(null, held, headStart, steps.Length, outputTensor)).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        return Logits(Run(images, null, 0, steps.Length, outputTensor)).MoveToOuterDisposeScope();
    }

    Tensor Logits(Tensor output)
    {
        var logits = Native(output, layouts[outputTensor]).reshape(output.shape[0], -1);
        return DropsBackground ? logits.narrow(1, 1, ClassCount).contiguous() : logits;
    }

    Tensor Run(Tensor? images, Tensor? representation, int from, int to, int result)
    {
        var values = new Tensor?[tensorCount];
        if (images is not null) values[inputTensor] = InputIsQuantised ? images * InputScaling.Gain + InputScaling.Offset : images.alias();
        if (representation is not null) values[representationTensor] = representation;
        for (int s = from; s < to; s++)
        {
            var step = steps[s];
            var inputs = new Tensor[step.Inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
                inputs[i] = values[step.Inputs[i]] ??= constants.TryGetValue(step.Inputs[i], out var name)
                    ? get_buffer(name)!
                    : throw new InvalidOperationException($"{Source}: tensor {step.Inputs[i]} is read before it is computed");
            values[step.Output] = step.Apply(inputs);
            foreach (int t in step.Inputs)
                if (lastUse[t] == s && t != result && !constants.ContainsKey(t) && values[t] is Tensor done && !ReferenceEquals(done, representation))
                {
                    done.Dispose();
                    values[t] = null;
                }
        }
        return values[result] ?? throw new InvalidOperationException($"{Source}: tensor {result} was not computed");
    }

    static Tensor Native(Tensor t, TfLayout layout) => layout == TfLayout.Nchw ? t.permute(0, 2, 3, 1) : t;

    void CheckImages(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != InputChannels || images.shape[2] != InputHeight || images.shape[3] != InputWidth)
            throw new ArgumentException($"{Path.GetFileName(Source)} expects images [N,{InputChannels},{InputHeight},{InputWidth}] in [0,1] (NCHW), got [{string.Join(",", images.shape)}]");
    }
}

/// <summary>What <see cref="TfliteImporter"/> hands to <see cref="TfliteNetwork"/>.</summary>
internal sealed class TfliteBuild
{
    public required string Source { get; init; }
    public required List<nn.Module<Tensor, Tensor>> Layers { get; init; }
    public required nn.Module<Tensor, Tensor>? Classifier { get; init; }
    public required TfliteStep[] Steps { get; init; }
    public required TfLayout[] Layouts { get; init; }
    public required Dictionary<int, Tensor> Constants { get; init; }
    public required int InputTensor { get; init; }
    public required int OutputTensor { get; init; }
    public required int OutputCount { get; init; }
    public required int RepresentationTensor { get; init; }
    public required long[] RepresentationShape { get; init; }
    public required int HeadStart { get; init; }
    public required (int C, int H, int W) Input { get; init; }
    public required (float Gain, float Offset) InputScaling { get; init; }
    public required bool InputIsQuantised { get; init; }
    public required bool? DropBackground { get; init; }
    public required List<string> Notes { get; init; }
}
