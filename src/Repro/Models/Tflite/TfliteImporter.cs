using Repro.Data;
using static TorchSharp.torch;

namespace Repro.Models.Tflite;

/// <summary>
/// Turns a TensorFlow Lite image classifier into a float <see cref="TfliteNetwork"/>: weights
/// dequantised to float32 (per tensor or per output channel; float16 weights widened) and converted
/// from TensorFlow's layouts (conv OHWI to OIHW, depthwise [1,H,W,C] to [C,1,H,W] with groups = C,
/// fully connected [out,in] as it is), TensorFlow SAME padding, fused activations, the input
/// tensor's quantisation as the input scaling, the final softmax dropped. Operators: see
/// <see cref="Supported"/>; anything else is refused with a message naming the file, the operator
/// and that list. Images may come in batches although the files declare a batch of one: the first
/// axis of every activation is the batch.
/// </summary>
internal static class TfliteImporter
{
    /// <summary>The folder of the quantised MobileNetV2 (ImageNet-1k, 224x224) under a model root.</summary>
    public const string MobileNetV2Folder = "mobilenet_v2_1.0_224_quant";
    /// <summary>The quantised MobileNetV2's file name in <see cref="MobileNetV2Folder"/>.</summary>
    public const string MobileNetV2File = "mobilenet_v2_1.0_224_quant.tflite";

    /// <summary>The TFLite operators the importer converts.</summary>
    public static readonly TfliteOperatorCode[] Supported =
    [
        TfliteOperatorCode.CONV_2D, TfliteOperatorCode.DEPTHWISE_CONV_2D, TfliteOperatorCode.FULLY_CONNECTED,
        TfliteOperatorCode.ADD, TfliteOperatorCode.SUB, TfliteOperatorCode.MUL,
        TfliteOperatorCode.AVERAGE_POOL_2D, TfliteOperatorCode.MAX_POOL_2D, TfliteOperatorCode.MEAN,
        TfliteOperatorCode.RESHAPE, TfliteOperatorCode.SQUEEZE, TfliteOperatorCode.CONCATENATION, TfliteOperatorCode.PAD,
        TfliteOperatorCode.RELU, TfliteOperatorCode.RELU6, TfliteOperatorCode.LOGISTIC, TfliteOperatorCode.HARD_SWISH,
        TfliteOperatorCode.SOFTMAX, TfliteOperatorCode.QUANTIZE, TfliteOperatorCode.DEQUANTIZE,
    ];

    /// <summary>Operators that only reshape or pass values on: the importer looks through them at the end of the graph.</summary>
    static readonly TfliteOperatorCode[] PassThrough =
        [TfliteOperatorCode.RESHAPE, TfliteOperatorCode.SQUEEZE, TfliteOperatorCode.QUANTIZE, TfliteOperatorCode.DEQUANTIZE];

    /// <summary>Where the quantised MobileNetV2 lives under a model root.</summary>
    public static string MobileNetV2Path(string modelRoot) => Path.Combine(modelRoot, MobileNetV2Folder, MobileNetV2File);

    /// <summary>Loads the quantised MobileNetV2 (ImageNet-1k, 1000 logits) from a model root (the catalogue's <see cref="Data.Assets.AssetCatalogue.MobileNetV2"/>).</summary>
    /// <exception cref="MissingInputsException">It is absent: names the expected file and the command that fetches it.</exception>
    public static TfliteNetwork LoadMobileNetV2(string modelRoot) =>
        Load(Data.Assets.AssetStore.Require(Data.Assets.AssetCatalogue.MobileNetV2, modelRoot));

    /// <summary>Reads a .tflite file and builds the float network.</summary>
    /// <param name="path">The .tflite file.</param>
    /// <param name="dropBackground">Drop output 0 as a background class: null decides by the count (1001 outputs).</param>
    public static TfliteNetwork Load(string path, bool? dropBackground = null) => Build(TfliteFile.Read(path), dropBackground);

    /// <summary>Builds the float network from a parsed TFLite model, in eval mode.</summary>
    /// <param name="model">The parsed .tflite file.</param>
    /// <param name="dropBackground">Drop output 0 as a background class: null decides by the count (1001 outputs).</param>
    /// <exception cref="ReproInputException">The model uses an operator outside <see cref="Supported"/> or what the importer cannot convert.</exception>
    public static TfliteNetwork Build(TfliteModel model, bool? dropBackground = null)
    {
        var builder = new Builder(model);
        try
        {
            var build = builder.Build(dropBackground);
            var network = new TfliteNetwork(build);
            network.eval();
            return network;
        }
        catch
        {
            builder.DisposeAll();
            throw;
        }
    }

    /// <summary>
    /// The file's input is a quantised image: the TFLite interpreter is fed bytes q = 255 p (UINT8;
    /// 255 p - 128 for INT8) and the network's float value of a byte is (q - zero_point) * scale.
    /// For MobileNetV2 (scale 1/128, zero point 128) that is 255/128 p - 1, the [-1,1] range it was
    /// trained on. The file is the only place this scaling is written down, so it is read, not
    /// assumed. A FLOAT32 input says nothing about scaling: the caller normalises.
    /// </summary>
    static ((int C, int H, int W) Shape, (float Gain, float Offset) Scaling, bool Quantised) ReadInput(string source, TfliteTensor input)
    {
        if (input.Shape is not [_, int h, int w, int c] || h < 1 || w < 1 || c < 1 || h > 8192 || w > 8192 || c > 64)
            throw new ReproInputException($"{source}: the input {input.Describe()} is not an NHWC image batch");
        if (input.Type == TfliteTensorType.FLOAT32) return ((c, h, w), (1f, 0f), false);
        if (input.Type is not (TfliteTensorType.UINT8 or TfliteTensorType.INT8) || input.Quantization is not { IsPerTensor: true } q)
            throw new ReproInputException($"{source}: the input {input.Describe()} is neither FLOAT32 nor a per-tensor quantised UINT8/INT8 image");
        float byteOffset = input.Type == TfliteTensorType.INT8 ? -128f : 0f;
        float scale = q.Scale[0], zeroPoint = q.ZeroPoint[0];
        return ((c, h, w), (255f * scale, (byteOffset - zeroPoint) * scale), true);
    }

    sealed class Builder(TfliteModel model)
    {
        readonly string source = model.Source;
        readonly List<nn.Module<Tensor, Tensor>> layers = [];
        readonly Dictionary<int, Tensor> constants = [];
        readonly Dictionary<int, Tensor> folded = [];
        readonly TfLayout?[] layouts = new TfLayout?[model.Tensors.Count];
        nn.Module<Tensor, Tensor>? classifier;

        public void DisposeAll()
        {
            foreach (var l in layers) l.Dispose();
            classifier?.Dispose();
            foreach (var c in constants.Values) c.Dispose();
            foreach (var f in folded.Values) f.Dispose();
        }

        public TfliteBuild Build(bool? dropBackground)
        {
            foreach (var op in model.Operators)
                if (!Supported.Contains(op.Code))
                    throw new ReproInputException($"{source}: {op.Describe()} is not supported by the TFLite importer (supported: {string.Join(", ", Supported.Select(TfliteNames.Of))})");
            if (model.Inputs.Length != 1 || model.Outputs.Length != 1)
                throw new ReproInputException($"{source}: expected one input and one output tensor, found {model.Inputs.Length} and {model.Outputs.Length}");
            int input = model.Inputs[0];
            var (inputShape, scaling, quantised) = ReadInput(source, model.Tensors[input]);
            layouts[input] = TfLayout.Nchw;
            var notes = new List<string>();
            if (!quantised) notes.Add($"the input {model.Tensors[input].Describe()} is float: the file does not say how pixels are scaled");

            var producer = new Dictionary<int, TfliteOperator>();
            var readers = new Dictionary<int, int>();
            foreach (var op in model.Operators)
            {
                foreach (int t in op.Outputs.Where(t => t >= 0))
                    if (!producer.TryAdd(t, op)) throw new ReproInputException($"{source}: tensor {t} is written by two operators");
                foreach (int t in op.Inputs.Where(t => t >= 0)) readers[t] = readers.GetValueOrDefault(t) + 1;
            }

            // A terminal SOFTMAX is dropped: its reader (or the graph's output) reads its input instead.
            var substitute = new Dictionary<int, int>();
            var dropped = new HashSet<int>();
            int tensor = model.Outputs[0];
            while (producer.TryGetValue(tensor, out var tail) && readers.GetValueOrDefault(tensor) + (tensor == model.Outputs[0] ? 1 : 0) == 1)
            {
                if (tail.Code == TfliteOperatorCode.SOFTMAX)
                {
                    substitute[tail.Outputs[0]] = tail.Inputs[0];
                    dropped.Add(tail.Index);
                    notes.Add($"the file ends in SOFTMAX ({tail.Describe()}): dropped, so the model returns logits");
                    break;
                }
                if (!PassThrough.Contains(tail.Code) || tail.Inputs.Length == 0) break;
                tensor = tail.Inputs[0];
            }
            int Resolve(int t) => substitute.TryGetValue(t, out int s) ? s : t;
            int output = Resolve(model.Outputs[0]);

            var steps = new List<TfliteStep>();
            foreach (var op in model.Operators.Where(o => !dropped.Contains(o.Index)))
            {
                if (op.Outputs.Length != 1 || op.Outputs[0] < 0) throw new ReproInputException($"{source}: {op.Describe()} has {op.Outputs.Length} outputs, expected 1");
                var inputs = op.Inputs.Select(i => i < 0 ? i : Resolve(i)).ToArray();
                if (op.Code == TfliteOperatorCode.DEQUANTIZE && inputs.Length == 1 && IsConstant(inputs[0]))
                {
                    // float16 or int8 weights stored quantised, widened by a DEQUANTIZE: folded now.
                    folded[op.Outputs[0]] = TfliteWeights.ToFloat(model.Tensors[inputs[0]], source);
                    continue;
                }
                steps.Add(Step(op, inputs));
            }
            if (layouts[output] is null) throw new ReproInputException($"{source}: the output {model.Tensors[output].Describe()} is not produced by the graph");

            var outputTensor = model.Tensors[output];
            long perImage = outputTensor.ElementCount / Math.Max(1, outputTensor.Shape.FirstOrDefault(1));
            if (outputTensor.ElementCount < 0 || outputTensor.Shape is [] || perImage < 2 || perImage > 1 << 20)
                throw new ReproInputException($"{source}: the output {outputTensor.Describe()} is not one vector of class scores per image");

            // The classifier at the end and the representation it reads.
            var (head, representation) = FindHead(steps, producer, output, Resolve);
            var ordered = steps.Where(s => !head.Contains(s)).Concat(steps.Where(head.Contains)).ToArray();
            long[] representationShape = representation < 0 ? [] : model.Tensors[representation].Shape.Skip(1).Select(d => (long)d).ToArray();

            return new TfliteBuild
            {
                Source = source, Layers = layers, Classifier = classifier, Steps = ordered,
                Layouts = layouts.Select(l => l ?? TfLayout.Native).ToArray(), Constants = constants,
                InputTensor = input, OutputTensor = output, OutputCount = (int)perImage,
                RepresentationTensor = representation, RepresentationShape = representationShape, HeadStart = ordered.Length - head.Count,
                Input = inputShape, InputScaling = scaling, InputIsQuantised = quantised, DropBackground = dropBackground, Notes = notes,
            };
        }

        /// <summary>
        /// Walking back from the output through RESHAPE/SQUEEZE/QUANTIZE/DEQUANTIZE: a FULLY_CONNECTED,
        /// or a 1x1 CONV_2D over a [1,1,1,C] vector, is the classifier; its input is the representation.
        /// </summary>
        (HashSet<TfliteStep> Head, int Representation) FindHead(List<TfliteStep> steps, Dictionary<int, TfliteOperator> producer, int output, Func<int, int> resolve)
        {
            var byOutput = steps.ToDictionary(s => s.Output);
            var head = new HashSet<TfliteStep>();
            int tensor = output;
            while (byOutput.TryGetValue(tensor, out var step) && PassThrough.Contains(step.Operator.Code))
            {
                head.Add(step);
                tensor = step.Inputs[0];
            }
            if (!byOutput.TryGetValue(tensor, out var last)) return ([], -1);
            bool linear = last.Operator.Code == TfliteOperatorCode.FULLY_CONNECTED
                || last.Operator.Code == TfliteOperatorCode.CONV_2D && model.Tensors[last.Inputs[0]].Shape is [_, 1, 1, _] && model.Tensors[last.Operator.Inputs[1]].Shape is [_, 1, 1, _];
            if (!linear) return ([], -1);
            head.Add(last);
            int representation = last.Inputs[0];
            if (!IsActivation(representation)) return ([], -1);
            // The head may read only the representation, constants and its own outputs.
            var outputs = head.Select(s => s.Output).ToHashSet();
            foreach (var s in head)
                foreach (int i in s.Inputs)
                    if (i != representation && !outputs.Contains(i) && IsActivation(i)) return ([], -1);
            // The classifier's module is registered as "classifier" rather than in the body's layer list.
            int at = layers.FindIndex(l => l.GetName() == LayerName(last.Operator));
            if (at >= 0)
            {
                classifier = layers[at];
                layers.RemoveAt(at);
            }
            return (head, representation);
        }

        bool IsConstant(int t) => t >= 0 && (model.Tensors[t].IsConstant || folded.ContainsKey(t));
        bool IsActivation(int t) => t >= 0 && !IsConstant(t);

        Tensor Weights(int t) => folded.TryGetValue(t, out var f) ? f.clone() : TfliteWeights.ToFloat(model.Tensors[t], source);

        static string LayerName(TfliteOperator op) => $"op{op.Index}_{op.Code}";

        TfLayout LayoutOf(TfliteOperator op, int t) =>
            layouts[t] ?? (IsConstant(t) ? TfLayout.Native
                : throw new ReproInputException($"{source}: {op.Describe()} reads {model.Tensors[t].Describe()}, which is neither the input nor produced by an earlier operator"));

        int[] Shape(int t) => model.Tensors[t].Shape;

        TfliteStep Step(TfliteOperator op, int[] inputs)
        {
            int output = op.Outputs[0];
            TfliteStep Make(int[] reads, TfLayout layout, Func<Tensor[], Tensor> apply)
            {
                foreach (int r in reads) LayoutOf(op, r);
                layouts[output] = layout;
                return new TfliteStep(op, reads, output, apply);
            }
            int Data(int i = 0)
            {
                if (i >= inputs.Length || !IsActivation(inputs[i]))
                    throw new ReproInputException($"{source}: {op.Describe()} input {i} should be an activation tensor");
                LayoutOf(op, inputs[i]);
                return inputs[i];
            }

            switch (op.Code)
            {
                case TfliteOperatorCode.CONV_2D:
                case TfliteOperatorCode.DEPTHWISE_CONV_2D:
                case TfliteOperatorCode.AVERAGE_POOL_2D:
                case TfliteOperatorCode.MAX_POOL_2D:
                    {
                        int x = Data();
                        if (Shape(x).Length != 4) throw new ReproInputException($"{source}: {op.Describe()} input {model.Tensors[x].Describe()} is not NHWC");
                        var layer = op.Code switch
                        {
                            TfliteOperatorCode.AVERAGE_POOL_2D or TfliteOperatorCode.MAX_POOL_2D => Pool(op),
                            _ => (nn.Module<Tensor, Tensor>)Convolution(op, inputs),
                        };
                        layers.Add(layer);
                        var from = layouts[x]!.Value;
                        return Make([x], TfLayout.Nchw, v => layer.call(Nchw(v[0], from)));
                    }
                case TfliteOperatorCode.FULLY_CONNECTED:
                    {
                        int x = Data();
                        var layer = FullyConnected(op, inputs);
                        layers.Add(layer);
                        var from = layouts[x]!.Value;
                        return Make([x], TfLayout.Native, v => layer.call(Native(v[0], from)));
                    }
                case TfliteOperatorCode.ADD:
                case TfliteOperatorCode.SUB:
                case TfliteOperatorCode.MUL:
                    return Binary(op, inputs, Make);
                case TfliteOperatorCode.RELU:
                case TfliteOperatorCode.RELU6:
                case TfliteOperatorCode.LOGISTIC:
                case TfliteOperatorCode.HARD_SWISH:
                case TfliteOperatorCode.QUANTIZE:
                case TfliteOperatorCode.DEQUANTIZE:
                    {
                        int x = Data();
                        Func<Tensor, Tensor> f = op.Code switch
                        {
                            TfliteOperatorCode.RELU => t => nn.functional.relu(t),
                            TfliteOperatorCode.RELU6 => t => nn.functional.relu6(t),
                            TfliteOperatorCode.LOGISTIC => t => t.sigmoid(),
                            TfliteOperatorCode.HARD_SWISH => t => nn.functional.hardswish(t),
                            // Float simulation: (de)quantisation passes values through.
                            _ => t => t.alias(),
                        };
                        return Make([x], layouts[x]!.Value, v => f(v[0]));
                    }
                case TfliteOperatorCode.SOFTMAX:
                    {
                        int x = Data();
                        float beta = ((TfliteSoftmaxOptions)op.Options!).Beta;
                        var from = layouts[x]!.Value;
                        return Make([x], TfLayout.Native, v => (Native(v[0], from) * (beta == 0 ? 1f : beta)).softmax(-1));
                    }
                case TfliteOperatorCode.RESHAPE:
                    {
                        int x = Data();
                        long[] target = ((TfliteReshapeOptions?)op.Options)?.NewShape is { Length: > 0 } s ? s.Select(d => (long)d).ToArray()
                            : inputs.Length > 1 && IsConstant(inputs[1]) ? TfliteWeights.Integers(model.Tensors[inputs[1]], source)
                            : throw new ReproInputException($"{source}: {op.Describe()} gives no new shape");
                        bool batchFirst = target.Length > 0 && target[0] != -1;
                        if (batchFirst && (Shape(x).Length == 0 || target[0] != Shape(x)[0]))
                            throw new ReproInputException($"{source}: {op.Describe()} reshapes {model.Tensors[x].Describe()} to [{string.Join(",", target)}], which mixes the batch axis with others");
                        var from = layouts[x]!.Value;
                        long[] rest = target.Skip(1).ToArray();
                        return Make([x], TfLayout.Native, v =>
                        {
                            var native = Native(v[0], from);
                            return batchFirst ? native.reshape([native.shape[0], .. rest]) : native.reshape(target);
                        });
                    }
                case TfliteOperatorCode.SQUEEZE:
                    {
                        int x = Data();
                        int rank = Shape(x).Length;
                        int[] dims = ((TfliteSqueezeOptions)op.Options!).Dims;
                        var squeeze = (dims.Length == 0 ? Enumerable.Range(1, Math.Max(0, rank - 1)).Where(d => Shape(x)[d] == 1) : dims.Select(d => d < 0 ? d + rank : d))
                            .Where(d => d != 0).Distinct().ToHashSet();
                        if (squeeze.Any(d => d < 0 || d >= rank || Shape(x)[d] != 1))
                            throw new ReproInputException($"{source}: {op.Describe()} squeezes axes [{string.Join(",", dims)}] of {model.Tensors[x].Describe()}, which are not all of size 1");
                        var from = layouts[x]!.Value;
                        return Make([x], TfLayout.Native, v =>
                        {
                            var native = Native(v[0], from);
                            return native.reshape(native.shape.Where((_, d) => !squeeze.Contains(d)).ToArray());
                        });
                    }
                case TfliteOperatorCode.MEAN:
                    {
                        int x = Data();
                        int rank = Shape(x).Length;
                        if (inputs.Length < 2 || !IsConstant(inputs[1])) throw new ReproInputException($"{source}: {op.Describe()} has no constant axes");
                        var axes = TfliteWeights.Integers(model.Tensors[inputs[1]], source).Select(a => a < 0 ? a + rank : a).Distinct().Order().ToArray();
                        if (axes.Any(a => a <= 0 || a >= rank)) throw new ReproInputException($"{source}: {op.Describe()} averages axes [{string.Join(",", axes)}] of a rank-{rank} tensor (the batch axis 0 cannot be averaged)");
                        bool keep = ((TfliteReducerOptions)op.Options!).KeepDims;
                        var from = layouts[x]!.Value;
                        if (from == TfLayout.Nchw)
                        {
                            long[] nchwAxes = axes.Select(a => (long)NchwAxis((int)a)).ToArray();
                            return Make([x], keep ? TfLayout.Nchw : TfLayout.Native, v =>
                            {
                                var mean = v[0].mean(nchwAxes, keepdim: true);
                                if (keep) return mean;
                                var native = mean.permute(0, 2, 3, 1);
                                return native.reshape(native.shape.Where((_, d) => !axes.Contains(d)).ToArray());
                            });
                        }
                        return Make([x], TfLayout.Native, v => v[0].mean(axes, keepdim: keep));
                    }
                case TfliteOperatorCode.PAD:
                    {
                        int x = Data();
                        int rank = Shape(x).Length;
                        if (inputs.Length < 2 || !IsConstant(inputs[1])) throw new ReproInputException($"{source}: {op.Describe()} has no constant paddings");
                        long[] paddings = TfliteWeights.Integers(model.Tensors[inputs[1]], source);
                        if (paddings.Length != 2 * rank || paddings.Any(p => p < 0 || p > 1 << 14) || paddings[0] != 0 || paddings[1] != 0)
                            throw new ReproInputException($"{source}: {op.Describe()} paddings [{string.Join(",", paddings)}] should be {rank} non-negative (before, after) pairs that leave the batch axis alone");
                        var from = layouts[x]!.Value;
                        // torch lists (before, after) from the last axis backwards, in the layout the tensor is held in.
                        int[] order = from == TfLayout.Nchw ? [0, 3, 1, 2] : Enumerable.Range(0, rank).ToArray();
                        long[] pad = order.Reverse().SelectMany(a => new[] { paddings[2 * a], paddings[2 * a + 1] }).ToArray();
                        return Make([x], from, v => nn.functional.pad(v[0], pad));
                    }
                case TfliteOperatorCode.CONCATENATION:
                    {
                        var options = (TfliteConcatenationOptions)op.Options!;
                        CheckActivation(op, options.Activation);
                        var parts = inputs.Select((_, i) => Data(i)).ToArray();
                        int rank = Shape(parts[0]).Length;
                        int axis = options.Axis < 0 ? options.Axis + rank : options.Axis;
                        if (axis <= 0 || axis >= rank || parts.Any(p => Shape(p).Length != rank))
                            throw new ReproInputException($"{source}: {op.Describe()} concatenates along axis {options.Axis} of rank-{rank} tensors (the batch axis 0 cannot be joined)");
                        var from = parts.Select(p => layouts[p]!.Value).ToArray();
                        bool nchw = rank == 4 && from.All(l => l == TfLayout.Nchw);
                        int held = nchw ? NchwAxis(axis) : axis;
                        return Make(parts, nchw ? TfLayout.Nchw : TfLayout.Native, v =>
                            TfActivation.Apply(cat(v.Select((t, i) => nchw ? t : Native(t, from[i])).ToArray(), held), options.Activation));
                    }
                default:
                    throw new ReproInputException($"{source}: {op.Describe()} is not supported by the TFLite importer");
            }
        }

        /// <summary>
        /// ADD, SUB, MUL with broadcasting. TensorFlow broadcasts from the right in NHWC; a 4-D result
        /// held as NCHW needs every operand in that layout: an activation of lower rank [N, ..., C]
        /// keeps its batch first and gets size-1 axes after it, a constant gets them in front.
        /// </summary>
        TfliteStep Binary(TfliteOperator op, int[] inputs, Func<int[], TfLayout, Func<Tensor[], Tensor>, TfliteStep> make)
        {
            if (inputs.Length != 2 || inputs.Any(i => i < 0)) throw new ReproInputException($"{source}: {op.Describe()} has {inputs.Length} inputs, expected 2");
            var activation = ((TfliteAddOptions)op.Options!).Activation;
            CheckActivation(op, activation);
            var isConstant = inputs.Select(IsConstant).ToArray();
            if (isConstant.All(c => c)) throw new ReproInputException($"{source}: {op.Describe()} combines two constants");
            foreach (int i in inputs)
                if (IsConstant(i) && !constants.ContainsKey(i)) constants[i] = Weights(i);
            var from = inputs.Select(i => LayoutOf(op, i)).ToArray();
            int[] ranks = inputs.Select(i => Shape(i).Length).ToArray();
            bool nchw = ranks.Max() == 4 && ranks.Where((r, k) => !isConstant[k] && from[k] == TfLayout.Nchw).Any();
            if (ranks.Max() > 4) throw new ReproInputException($"{source}: {op.Describe()} on tensors of rank {ranks.Max()} is not supported");
            Tensor Operand(Tensor t, int k)
            {
                if (!nchw) return Native(t, from[k]);
                if (from[k] == TfLayout.Nchw) return t;
                var shape = isConstant[k]
                    ? Enumerable.Repeat(1L, 4 - (int)t.dim()).Concat(t.shape).ToArray()
                    : new[] { t.shape[0] }.Concat(Enumerable.Repeat(1L, 4 - (int)t.dim())).Concat(t.shape.Skip(1)).ToArray();
                return t.reshape(shape).permute(0, 3, 1, 2);
            }
            Func<Tensor, Tensor, Tensor> combine = op.Code switch
            {
                TfliteOperatorCode.ADD => (a, b) => a + b,
                TfliteOperatorCode.SUB => (a, b) => a - b,
                _ => (a, b) => a * b,
            };
            return make(inputs, nchw ? TfLayout.Nchw : TfLayout.Native, v =>
            {
                using var scope = NewDisposeScope();
                return TfActivation.Apply(combine(Operand(v[0], 0), Operand(v[1], 1)), activation).MoveToOuterDisposeScope();
            });
        }

        /// <summary>NHWC axis to the axis of the same data held as NCHW.</summary>
        static int NchwAxis(int nhwc) => nhwc switch { 0 => 0, 1 => 2, 2 => 3, _ => 1 };

        static Tensor Nchw(Tensor t, TfLayout layout) => layout == TfLayout.Nchw ? t : t.permute(0, 3, 1, 2);

        static Tensor Native(Tensor t, TfLayout layout) => layout == TfLayout.Nchw ? t.permute(0, 2, 3, 1) : t;

        TfConv2d Convolution(TfliteOperator op, int[] inputs)
        {
            if (inputs.Length < 2 || inputs[1] < 0) throw new ReproInputException($"{source}: {op.Describe()} has no weight tensor");
            var x = model.Tensors[inputs[0]];
            var w = model.Tensors[inputs[1]];
            int? biasIndex = inputs.Length > 2 && inputs[2] >= 0 ? inputs[2] : null;
            if (x.Shape is not [_, _, _, int inChannels]) throw new ReproInputException($"{source}: {op.Describe()} input {x.Describe()} is not NHWC");
            if (w.Shape.Length != 4) throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} is not 4-d");
            if (!IsConstant(inputs[1])) throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} is not a constant");

            TflitePadding padding; int strideH, strideW, dilationH, dilationW; TfliteActivation activation;
            long groups;
            Tensor weight;
            if (op.Options is TfliteConvOptions c)
            {
                // OHWI -> OIHW.
                if (w.Shape[3] != inChannels) throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} does not match {inChannels} input channels");
                (padding, strideH, strideW, dilationH, dilationW, activation, groups) = (c.Padding, c.StrideH, c.StrideW, c.DilationH, c.DilationW, c.Activation, 1);
                using var raw = Weights(inputs[1]);
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
                using var raw = Weights(inputs[1]);
                weight = raw.permute(3, 0, 1, 2).contiguous();
            }
            else throw new ReproInputException($"{source}: {op.Describe()} has no convolution options");

            try
            {
                if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1)
                    throw new ReproInputException($"{source}: {op.Describe()} has stride {strideH}x{strideW} and dilation {dilationH}x{dilationW}; both must be at least 1");
                CheckPadding(op, padding);
                CheckActivation(op, activation);
                var bias = biasIndex is int b ? Weights(b) : null;
                if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
                {
                    bias.Dispose();
                    throw new ReproInputException($"{source}: {op.Describe()} bias {model.Tensors[biasIndex!.Value].Describe()} does not match {weight.shape[0]} output channels");
                }
                return new TfConv2d(LayerName(op), weight, bias, padding, strideH, strideW, dilationH, dilationW, groups, activation);
            }
            catch
            {
                weight.Dispose();
                throw;
            }
        }

        TfFullyConnected FullyConnected(TfliteOperator op, int[] inputs)
        {
            var options = (TfliteFullyConnectedOptions)op.Options!;
            if (options.WeightsFormat != 0) throw new ReproInputException($"{source}: {op.Describe()} uses shuffled weights (format {options.WeightsFormat}); only the default format is read");
            CheckActivation(op, options.Activation);
            if (inputs.Length < 2 || !IsConstant(inputs[1])) throw new ReproInputException($"{source}: {op.Describe()} has no constant weight tensor");
            var w = model.Tensors[inputs[1]];
            if (w.Shape.Length != 2) throw new ReproInputException($"{source}: {op.Describe()} weight {w.Describe()} is not [out, in]");
            var x = model.Tensors[inputs[0]];
            if (x.ElementCount % w.Shape[1] != 0) throw new ReproInputException($"{source}: {op.Describe()} input {x.Describe()} is not rows of {w.Shape[1]} values");
            var weight = Weights(inputs[1]);
            var bias = inputs.Length > 2 && inputs[2] >= 0 ? Weights(inputs[2]) : null;
            if (bias is not null && (bias.dim() != 1 || bias.shape[0] != w.Shape[0]))
            {
                weight.Dispose();
                bias.Dispose();
                throw new ReproInputException($"{source}: {op.Describe()} bias {model.Tensors[inputs[2]].Describe()} does not match {w.Shape[0]} outputs");
            }
            return new TfFullyConnected(LayerName(op), weight, bias, options.KeepNumDims, options.Activation);
        }

        nn.Module<Tensor, Tensor> Pool(TfliteOperator op)
        {
            var p = (TflitePoolOptions)op.Options!;
            if (p.StrideH < 1 || p.StrideW < 1 || p.FilterH < 1 || p.FilterW < 1)
                throw new ReproInputException($"{source}: {op.Describe()} has filter {p.FilterH}x{p.FilterW} and stride {p.StrideH}x{p.StrideW}; both must be at least 1");
            CheckPadding(op, p.Padding);
            CheckActivation(op, p.Activation);
            return op.Code == TfliteOperatorCode.MAX_POOL_2D
                ? new TfMaxPool2d(LayerName(op), p.Padding, p.FilterH, p.FilterW, p.StrideH, p.StrideW, p.Activation)
                : new TfAveragePool2d(LayerName(op), p.Padding, p.FilterH, p.FilterW, p.StrideH, p.StrideW, p.Activation);
        }

        void CheckPadding(TfliteOperator op, TflitePadding padding)
        {
            if (padding is not (TflitePadding.SAME or TflitePadding.VALID))
                throw new ReproInputException($"{source}: {op.Describe()} has unknown padding {(int)padding}");
        }

        void CheckActivation(TfliteOperator op, TfliteActivation activation)
        {
            if (!TfActivation.IsSupported(activation))
                throw new ReproInputException($"{source}: {op.Describe()} uses fused activation {activation}, which the importer does not support");
        }
    }
}
