using Repro.Data;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// Turns a TensorFlow Lite image classifier into a float <see cref="TfliteNetwork"/>:
/// weights dequantised to float32 and converted from TensorFlow's layouts (conv OHWI to OIHW,
/// depthwise [1,H,W,C] to [C,1,H,W] with groups = C), TensorFlow SAME padding, fused activations,
/// the input tensor's quantisation as the input scaling, the final softmax dropped.
/// Supported graphs: CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D in the body, ending in a 1x1
/// CONV_2D classifier over a pooled vector followed by any RESHAPE / SOFTMAX (MobileNet V1/V2).
/// Anything else is refused with a message naming the file and the operator.
/// </summary>
public static class TfliteImporter
{
    public const string MobileNetV2Folder = "mobilenet_v2_1.0_224_quant";
    public const string MobileNetV2File = "mobilenet_v2_1.0_224_quant.tflite";

    static readonly TfliteOperatorCode[] Supported =
    [
        TfliteOperatorCode.CONV_2D, TfliteOperatorCode.DEPTHWISE_CONV_2D, TfliteOperatorCode.ADD,
        TfliteOperatorCode.AVERAGE_POOL_2D, TfliteOperatorCode.RESHAPE, TfliteOperatorCode.SOFTMAX,
    ];

    /// <summary>Where the quantised MobileNetV2 lives under a model root.</summary>
    public static string MobileNetV2Path(string modelRoot) => Path.Combine(modelRoot, MobileNetV2Folder, MobileNetV2File);

    /// <summary>Loads the quantised MobileNetV2 (ImageNet-1k, 1000 logits) from a model root (the catalogue's <see cref="Data.Assets.AssetCatalogue.MobileNetV2"/>).</summary>
    /// <exception cref="MissingInputsException">It is absent: names the expected file and the command that fetches it.</exception>
    public static TfliteNetwork LoadMobileNetV2(string modelRoot) =>
        Load(Data.Assets.AssetStore.Require(Data.Assets.AssetCatalogue.MobileNetV2, modelRoot));

    /// <summary>Reads a .tflite file and builds the float network.</summary>
    public static TfliteNetwork Load(string path) => Build(TfliteFile.Read(path));

    public static TfliteNetwork Build(TfliteModel model)
    {
        string source = model.Source;
        foreach (var op in model.Operators)
            if (!Supported.Contains(op.Code))
                throw new ReproInputException($"{source}: {op.Describe()} is not supported by the TFLite importer (supported: {string.Join(", ", Supported)})");
        if (model.Inputs.Length != 1 || model.Outputs.Length != 1)
            throw new ReproInputException($"{source}: expected one input and one output tensor, found {model.Inputs.Length} and {model.Outputs.Length}");

        var input = model.Tensors[model.Inputs[0]];
        var (inputShape, inputScaling) = ReadInput(source, input);

        // Walk back from the output past RESHAPE/SOFTMAX to the classifier; everything else is the body.
        var producer = new Dictionary<int, TfliteOperator>();
        foreach (var op in model.Operators)
            foreach (int t in op.Outputs)
                if (!producer.TryAdd(t, op)) throw new ReproInputException($"{source}: tensor {t} is written by two operators");
        var head = new HashSet<int>();
        int tensor = model.Outputs[0];
        while (producer.TryGetValue(tensor, out var tail) && tail.Code is TfliteOperatorCode.RESHAPE or TfliteOperatorCode.SOFTMAX)
        {
            head.Add(tail.Index);
            tensor = tail.Inputs[0];
        }
        if (!producer.TryGetValue(tensor, out var classifierOp) || classifierOp.Code != TfliteOperatorCode.CONV_2D)
            throw new ReproInputException($"{source}: expected the graph to end in a 1x1 CONV_2D classifier (then RESHAPE/SOFTMAX), found {(producer.TryGetValue(tensor, out var other) ? other.Describe() : "no operator")} before the output");
        head.Add(classifierOp.Index);
        int representation = classifierOp.Inputs[0];
        var pooled = model.Tensors[representation];
        var classifierWeight = model.Tensors[classifierOp.Inputs[1]];
        if (pooled.Shape is not [_, 1, 1, _] || classifierWeight.Shape is not [_, 1, 1, _])
            throw new ReproInputException($"{source}: the classifier {classifierOp.Describe()} should be a 1x1 convolution over a pooled [1,1,1,C] vector; its input is {pooled.Describe()} and its weight {classifierWeight.Describe()}");

        var available = new HashSet<int> { model.Inputs[0] };
        var layers = new List<nn.Module<Tensor, Tensor>>();
        var steps = new List<TfliteStep>();
        TfConv2d? classifier = null;
        try
        {
            foreach (var op in model.Operators.Where(o => !head.Contains(o.Index)))
            {
                if (op.Outputs.Length != 1) throw new ReproInputException($"{source}: {op.Describe()} has {op.Outputs.Length} outputs, expected 1");
                int[] activations = op.Code == TfliteOperatorCode.ADD ? op.Inputs : [op.Inputs.Length > 0 ? op.Inputs[0] : -1];
                foreach (int t in activations)
                    if (!available.Contains(t))
                        throw new ReproInputException($"{source}: {op.Describe()} reads {(t >= 0 ? model.Tensors[t].Describe() : "no tensor")}, which is neither the input nor produced by an earlier operator");
                switch (op.Code)
                {
                    case TfliteOperatorCode.CONV_2D:
                    case TfliteOperatorCode.DEPTHWISE_CONV_2D:
                    case TfliteOperatorCode.AVERAGE_POOL_2D:
                        steps.Add(new TfliteStep(op, layers.Count, [op.Inputs[0]], op.Outputs[0], TfliteActivation.NONE));
                        layers.Add(op.Code == TfliteOperatorCode.AVERAGE_POOL_2D ? Pool(model, op) : Convolution(model, op));
                        break;
                    case TfliteOperatorCode.ADD:
                        var activation = ((TfliteAddOptions)op.Options!).Activation;
                        if (op.Inputs.Length != 2) throw new ReproInputException($"{source}: {op.Describe()} has {op.Inputs.Length} inputs, expected 2");
                        CheckActivation(source, op, activation);
                        steps.Add(new TfliteStep(op, -1, op.Inputs, op.Outputs[0], activation));
                        break;
                    default:
                        throw new ReproInputException($"{source}: {op.Describe()} is only supported at the end of the graph, after the classifier");
                }
                available.Add(op.Outputs[0]);
            }
            if (!available.Contains(representation))
                throw new ReproInputException($"{source}: the classifier's input {pooled.Describe()} is not produced by the graph");
            classifier = Convolution(model, classifierOp);
            return new TfliteNetwork(source, layers, steps.ToArray(), classifier, model.Tensors.Count, model.Inputs[0], representation, inputShape, inputScaling);
        }
        catch
        {
            foreach (var layer in layers) layer.Dispose();
            classifier?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The file's input is a quantised image: the TFLite interpreter is fed bytes q = 255 p (UINT8;
    /// 255 p - 128 for INT8) and the network's float value of a byte is (q - zero_point) * scale.
    /// For MobileNetV2 (scale 1/128, zero point 128) that is 255/128 p - 1, the [-1,1] range it was
    /// trained on. The file is the only place this scaling is written down, so it is read, not assumed.
    /// </summary>
    static ((int C, int H, int W) Shape, (float Gain, float Offset) Scaling) ReadInput(string source, TfliteTensor input)
    {
        if (input.Shape is not [_, int h, int w, int c])
            throw new ReproInputException($"{source}: the input {input.Describe()} is not an NHWC image batch");
        if (input.Type is not (TfliteTensorType.UINT8 or TfliteTensorType.INT8) || input.Quantization is not { IsPerTensor: true } q)
            throw new ReproInputException($"{source}: the input {input.Describe()} is not a per-tensor quantised UINT8/INT8 image, so the file does not say how pixels are scaled");
        float byteOffset = input.Type == TfliteTensorType.INT8 ? -128f : 0f;
        float scale = q.Scale[0], zeroPoint = q.ZeroPoint[0];
        return ((c, h, w), (255f * scale, (byteOffset - zeroPoint) * scale));
    }

    static TfConv2d Convolution(TfliteModel model, TfliteOperator op)
    {
        string source = model.Source;
        if (op.Inputs.Length < 2 || op.Inputs[1] < 0) throw new ReproInputException($"{source}: {op.Describe()} has no weight tensor");
        var x = model.Tensors[op.Inputs[0]];
        var w = model.Tensors[op.Inputs[1]];
        var b = op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? model.Tensors[op.Inputs[2]] : null;
        if (x.Shape is not [_, _, _, int inChannels]) throw new ReproInputException($"{source}: {op.Describe()} input {x.Describe()} is not NHWC");
        if (w.Shape.Length != 4) throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} is not 4-d");

        TflitePadding padding; int strideH, strideW, dilationH, dilationW; TfliteActivation activation;
        long groups;
        Tensor weight;
        if (op.Options is TfliteConvOptions c)
        {
            // OHWI -> OIHW.
            if (w.Shape[3] != inChannels) throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} does not match {inChannels} input channels");
            (padding, strideH, strideW, dilationH, dilationW, activation, groups) = (c.Padding, c.StrideH, c.StrideW, c.DilationH, c.DilationW, c.Activation, 1);
            using var raw = TfliteWeights.ToFloat(w, source);
            weight = raw.permute(0, 3, 1, 2).contiguous();
        }
        else if (op.Options is TfliteDepthwiseConvOptions d)
        {
            // [1,H,W,C*M] -> [C*M,1,H,W] with groups = C: torch's output channel o reads input
            // channel o / M, as TFLite's output c*M + m reads input c.
            int multiplier = d.DepthMultiplier > 0 ? d.DepthMultiplier : Math.Max(1, w.Shape[3] / inChannels);
            if (w.Shape[0] != 1 || w.Shape[3] != inChannels * multiplier)
                throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} does not match {inChannels} input channels with depth multiplier {multiplier}");
            (padding, strideH, strideW, dilationH, dilationW, activation, groups) = (d.Padding, d.StrideH, d.StrideW, d.DilationH, d.DilationW, d.Activation, inChannels);
            using var raw = TfliteWeights.ToFloat(w, source);
            weight = raw.permute(3, 0, 1, 2).contiguous();
        }
        else throw new ReproInputException($"{source}: {op.Describe()} has no convolution options");

        try
        {
            if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1)
                throw new ReproInputException($"{source}: {op.Describe()} has stride {strideH}x{strideW} and dilation {dilationH}x{dilationW}; both must be at least 1");
            CheckPadding(source, op, padding);
            CheckActivation(source, op, activation);
            var bias = b is null ? null : TfliteWeights.ToFloat(b, source);
            if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            {
                bias.Dispose();
                throw new ReproInputException($"{source}: {op.Describe()} bias {b!.Describe()} does not match {weight.shape[0]} output channels");
            }
            return new TfConv2d($"op{op.Index}_{op.Code}", weight, bias, padding, strideH, strideW, dilationH, dilationW, groups, activation);
        }
        catch
        {
            weight.Dispose();
            throw;
        }
    }

    static TfAveragePool2d Pool(TfliteModel model, TfliteOperator op)
    {
        var p = (TflitePoolOptions)op.Options!;
        if (p.StrideH < 1 || p.StrideW < 1 || p.FilterH < 1 || p.FilterW < 1)
            throw new ReproInputException($"{model.Source}: {op.Describe()} has filter {p.FilterH}x{p.FilterW} and stride {p.StrideH}x{p.StrideW}; both must be at least 1");
        CheckPadding(model.Source, op, p.Padding);
        CheckActivation(model.Source, op, p.Activation);
        return new TfAveragePool2d($"op{op.Index}_{op.Code}", p.Padding, p.FilterH, p.FilterW, p.StrideH, p.StrideW, p.Activation);
    }

    static void CheckPadding(string source, TfliteOperator op, TflitePadding padding)
    {
        if (padding is not (TflitePadding.SAME or TflitePadding.VALID))
            throw new ReproInputException($"{source}: {op.Describe()} has unknown padding {(int)padding}");
    }

    static void CheckActivation(string source, TfliteOperator op, TfliteActivation activation)
    {
        if (!TfActivation.IsSupported(activation))
            throw new ReproInputException($"{source}: {op.Describe()} uses fused activation {activation}, which the importer does not support");
    }
}
