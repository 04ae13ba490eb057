using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// A TensorFlow Lite image classifier as a float, differentiable TorchSharp module (built by
/// <see cref="TfliteImporter"/>). Images are [N,C,H,W] in [0,1], as everywhere in Repro; the
/// file's own input scaling (its input tensor's quantisation) is applied inside. The body runs the
/// file's operators in order on NCHW float tensors; the representation is the input of the final
/// 1x1 classifier convolution (for MobileNetV2 the pooled 1280-d vector); the softmax at the end of
/// the file is dropped so the output is logits, and for 1001-output models (TF-slim's "background"
/// class at index 0) logit 0 is dropped so the 1000 logits use the standard ImageNet indices.
/// Activations stay float: there is no fake quantisation, so results differ slightly from the
/// TFLite interpreter's integer arithmetic.
/// </summary>
public sealed class TfliteNetwork : nn.Module<Tensor, Tensor>, IRepresentationModel
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    readonly TfConv2d classifier;
    readonly TfliteStep[] steps;
    readonly int[] lastUse;
    readonly int tensorCount, inputTensor, representationTensor;

    /// <summary>The file the network was read from.</summary>
    public string Source { get; }
    public int InputChannels { get; }
    public int InputHeight { get; }
    public int InputWidth { get; }
    /// <summary>The model sees Gain * p + Offset for a pixel p in [0,1] (from the input tensor's quantisation).</summary>
    public (float Gain, float Offset) InputScaling { get; }
    public int RepresentationSize { get; }
    /// <summary>Outputs of <see cref="Head"/> and <see cref="forward"/> (1000 for MobileNetV2 once background is dropped).</summary>
    public int ClassCount { get; }
    /// <summary>True when the file has 1001 outputs and output 0 ("background") is dropped.</summary>
    public bool DropsBackground { get; }
    public IReadOnlyList<TfliteStep> Steps => steps;
    public TfConv2d Classifier => classifier;

    internal TfliteNetwork(string source, IReadOnlyList<nn.Module<Tensor, Tensor>> bodyLayers, TfliteStep[] steps, TfConv2d classifier,
        int tensorCount, int inputTensor, int representationTensor, (int C, int H, int W) input, (float Gain, float Offset) inputScaling)
        : base("TfliteNetwork")
    {
        Source = source;
        layers = nn.ModuleList(bodyLayers.ToArray());
        this.classifier = classifier;
        this.steps = steps;
        this.tensorCount = tensorCount;
        this.inputTensor = inputTensor;
        this.representationTensor = representationTensor;
        (InputChannels, InputHeight, InputWidth) = input;
        InputScaling = inputScaling;
        RepresentationSize = (int)classifier.Weight.shape[1];
        int outputs = (int)classifier.Weight.shape[0];
        DropsBackground = outputs == 1001;
        ClassCount = DropsBackground ? 1000 : outputs;

        // Each intermediate activation is freed right after its last reader, so a batch holds only
        // the live tensors (residual inputs included) rather than all 60-odd activations at once.
        lastUse = Enumerable.Repeat(-1, tensorCount).ToArray();
        for (int s = 0; s < steps.Length; s++)
            foreach (int t in steps[s].Inputs) lastUse[t] = s;
        lastUse[representationTensor] = int.MaxValue;
        RegisterComponents();
    }

    /// <summary>[N,C,H,W] images in [0,1] to the classifier's input, flattened to [N,RepresentationSize].</summary>
    public Tensor Representation(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        var values = new Tensor?[tensorCount];
        values[inputTensor] = images * InputScaling.Gain + InputScaling.Offset;
        for (int s = 0; s < steps.Length; s++)
        {
            var step = steps[s];
            values[step.Output] = step.IsAdd
                ? TfActivation.Apply(values[step.Inputs[0]]! + values[step.Inputs[1]]!, step.Activation)
                : layers[step.Layer].call(values[step.Inputs[0]]!);
            foreach (int t in step.Inputs)
                if (lastUse[t] == s && values[t] is Tensor done)
                {
                    done.Dispose();
                    values[t] = null;
                }
        }
        return values[representationTensor]!.flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>[N,RepresentationSize] to [N,ClassCount] logits: the 1x1 classifier convolution, background dropped.</summary>
    public Tensor Head(Tensor representation)
    {
        if (representation.dim() != 2 || representation.shape[1] != RepresentationSize)
            throw new ArgumentException($"expected a representation [N,{RepresentationSize}], got [{string.Join(",", representation.shape)}]");
        using var scope = NewDisposeScope();
        var logits = classifier.call(representation.reshape(representation.shape[0], RepresentationSize, 1, 1)).flatten(1);
        if (DropsBackground) logits = logits.narrow(1, 1, ClassCount).contiguous();
        return logits.MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Head(Representation(images)).MoveToOuterDisposeScope();
    }

    void CheckImages(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != InputChannels || images.shape[2] != InputHeight || images.shape[3] != InputWidth)
            throw new ArgumentException($"{Path.GetFileName(Source)} expects images [N,{InputChannels},{InputHeight},{InputWidth}] in [0,1] (NCHW), got [{string.Join(",", images.shape)}]");
    }
}
