using Repro.Models.Formats.PyTorch;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>The residual block of a torchvision ResNet.</summary>
public enum ResNetBlock
{
    /// <summary>Two 3x3 convolutions (resnet18/34), expansion 1.</summary>
    Basic,
    /// <summary>1x1, 3x3 (carrying the stride, torchvision's "ResNet v1.5"), 1x1 to 4x the width (resnet50/101/152).</summary>
    Bottleneck,
}

/// <summary>
/// The shape of a torchvision ResNet: block kind, blocks per stage, the stem's width, the four
/// stages' widths (torchvision's <c>planes</c>: 64, 128, 256, 512) and the number of classes.
/// torchvision's own models are <see cref="ResNet18"/> and <see cref="ResNet50"/>; other widths and
/// depths describe narrower networks of the same layout (the test fixtures).
/// </summary>
public sealed record ResNetShape(ResNetBlock Block, int[] Blocks, int StemWidth, int[] Widths, int Classes)
{
    /// <summary>torchvision's resnet18 (He et al. 2016): basic blocks [2,2,2,2], widths 64..512, 1000 classes.</summary>
    public static ResNetShape ResNet18 { get; } = new(ResNetBlock.Basic, [2, 2, 2, 2], 64, [64, 128, 256, 512], 1000);
    /// <summary>torchvision's resnet50 (He et al. 2016): bottleneck blocks [3,4,6,3], widths 64..512, 1000 classes.</summary>
    public static ResNetShape ResNet50 { get; } = new(ResNetBlock.Bottleneck, [3, 4, 6, 3], 64, [64, 128, 256, 512], 1000);

    /// <summary>Output channels of a block per unit of stage width: 4 for bottleneck, 1 for basic blocks.</summary>
    public int Expansion => Block == ResNetBlock.Bottleneck ? 4 : 1;

    /// <summary>Length of the representation (the input of <c>fc</c>): 512 for resnet18, 2048 for resnet50.</summary>
    public int RepresentationSize => Widths[^1] * Expansion;

    /// <summary>A one-line description: block kind, blocks, stem width, stage widths and classes.</summary>
    public override string ToString() =>
        $"{Block} ResNet, blocks [{string.Join(",", Blocks)}], stem {StemWidth}, widths [{string.Join(",", Widths)}], {Classes} classes";
}

/// <summary>
/// torchvision's ResNet (torchvision/models/resnet.py: <c>ResNet</c>, <c>BasicBlock</c>,
/// <c>Bottleneck</c>, <c>_make_layer</c>) for any <see cref="ResNetShape"/>, with torchvision's
/// module names, so its state_dict keys are torchvision's (<c>conv1.weight</c>,
/// <c>layer1.0.downsample.1.running_var</c>, <c>fc.bias</c>, ...): a 7x7 stride-2 stem, BatchNorm,
/// ReLU, 3x3 stride-2 max-pool, four stages (stride 1, 2, 2, 2; a 1x1 projection with BatchNorm
/// where the shape changes), global average pooling and <c>fc</c>. Takes normalised images
/// [N,3,H,W]; returns logits [N,classes]. One implementation for resnet18, resnet50, MadryLab's
/// robust ResNet50 and the narrow fixtures that check it against PyTorch.
/// </summary>
public sealed class TorchvisionResNetNetwork : Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Conv2d conv1;
    readonly TorchSharp.Modules.BatchNorm2d bn1;
    readonly TorchSharp.Modules.MaxPool2d maxpool;
    readonly TorchSharp.Modules.Sequential layer1, layer2, layer3, layer4;
    readonly TorchSharp.Modules.Linear fc;

    /// <summary>A network of <paramref name="shape"/> with TorchSharp's default initialisation (load weights with <see cref="LoadStrict"/>).</summary>
    /// <param name="shape">Block kind, blocks per stage, widths and classes.</param>
    /// <param name="name">The module's name.</param>
    /// <exception cref="ArgumentException">The shape does not have four stages of &gt;= 1 block with positive widths and classes.</exception>
    public TorchvisionResNetNetwork(ResNetShape shape, string name = "ResNet") : base(name)
    {
        if (shape.Blocks.Length != 4 || shape.Widths.Length != 4 || shape.Blocks.Any(b => b < 1) || shape.Widths.Any(w => w < 1) || shape.StemWidth < 1 || shape.Classes < 1)
            throw new ArgumentException($"a torchvision ResNet has four stages of >= 1 block and positive widths: {shape}", nameof(shape));
        Shape = shape;
        conv1 = Conv2d(3, shape.StemWidth, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(shape.StemWidth);
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        int inputs = shape.StemWidth;
        layer1 = Stage(shape, 0, 1, ref inputs);
        layer2 = Stage(shape, 1, 2, ref inputs);
        layer3 = Stage(shape, 2, 2, ref inputs);
        layer4 = Stage(shape, 3, 2, ref inputs);
        fc = Linear(shape.RepresentationSize, shape.Classes);
        RegisterComponents();
    }

    /// <summary>The architecture this network was built for.</summary>
    public ResNetShape Shape { get; }

    /// <summary>The classification head (representation to logits).</summary>
    public TorchSharp.Modules.Linear Fc => fc;

    /// <summary>Normalised images [N,3,H,W] to the representation [N, RepresentationSize] (after global average pooling).</summary>
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        // In place, as torchvision: BatchNorm's backward keeps its input, not its output, so ReLU may
        // overwrite that output; one activation-sized buffer fewer per layer.
        x = maxpool.call(functional.relu(bn1.call(conv1.call(x)), inplace: true));
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        return x.mean([2, 3]).MoveToOuterDisposeScope();
    }

    /// <summary>Logits [N,classes] of normalised images [N,3,H,W]: <c>fc</c> applied to <see cref="Features"/>.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc.call(Features(x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Copies <paramref name="weights"/> into this network, requiring exactly its keys with exactly
    /// its shapes (torch's <c>load_state_dict(strict=True)</c>, plus the shape check that
    /// <c>copy_</c>'s broadcasting would skip); throws <see cref="ReproInputException"/> naming
    /// <paramref name="source"/> and the first keys that differ.
    /// </summary>
    public void LoadStrict(IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var expected = state_dict();
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new ReproInputException($"{source} is not a {Shape}: missing {List(missing)}; unexpected {List(unexpected)}");
        foreach (var (key, value) in weights)
            if (!expected[key].shape.SequenceEqual(value.shape))
                throw new ReproInputException($"{source}: {CheckpointFormatException.Printable(key)} has shape [{string.Join(",", value.shape)}], the {Shape} needs [{string.Join(",", expected[key].shape)}]");
        load_state_dict(weights.ToDictionary(e => e.Key, e => e.Value), strict: true);
    }

    static string List(List<string> keys) => keys.Count == 0 ? "none"
        : string.Join(", ", keys.Take(5).Select(k => CheckpointFormatException.Printable(k))) + (keys.Count > 5 ? $" and {keys.Count - 5} more" : "");

    /// <summary>torchvision's <c>_make_layer</c>: the first block carries the stride and the projection.</summary>
    static TorchSharp.Modules.Sequential Stage(ResNetShape shape, int stage, int stride, ref int inputs)
    {
        int width = shape.Widths[stage], outputs = width * shape.Expansion;
        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        for (int b = 0; b < shape.Blocks[stage]; b++)
        {
            int s = b == 0 ? stride : 1;
            Module<Tensor, Tensor>? downsample = b == 0 && (stride != 1 || inputs != outputs)
                ? Sequential(("0", Conv2d(inputs, outputs, 1, stride: stride, bias: false)), ("1", BatchNorm2d(outputs)))
                : null;
            blocks.Add(($"{b}", shape.Block == ResNetBlock.Bottleneck
                ? new Bottleneck(inputs, width, s, downsample)
                : new BasicBlock(inputs, width, s, downsample)));
            inputs = outputs;
        }
        return Sequential(blocks);
    }

    sealed class BasicBlock : Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Conv2d conv1, conv2;
        readonly TorchSharp.Modules.BatchNorm2d bn1, bn2;
        readonly Module<Tensor, Tensor>? downsample;

        public BasicBlock(int inputs, int width, int stride, Module<Tensor, Tensor>? downsample) : base("BasicBlock")
        {
            conv1 = Conv2d(inputs, width, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(width);
            conv2 = Conv2d(width, width, 3, padding: 1, bias: false);
            bn2 = BatchNorm2d(width);
            this.downsample = downsample;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            // In place where torchvision is: each overwritten tensor is a BatchNorm output, which no backward keeps.
            var y = functional.relu(bn1.call(conv1.call(x)), inplace: true);
            y = bn2.call(conv2.call(y));
            var identity = downsample is null ? x : downsample.call(x);
            return functional.relu(y.add_(identity), inplace: true).MoveToOuterDisposeScope();
        }
    }

    sealed class Bottleneck : Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Conv2d conv1, conv2, conv3;
        readonly TorchSharp.Modules.BatchNorm2d bn1, bn2, bn3;
        readonly Module<Tensor, Tensor>? downsample;

        public Bottleneck(int inputs, int width, int stride, Module<Tensor, Tensor>? downsample) : base("Bottleneck")
        {
            conv1 = Conv2d(inputs, width, 1, bias: false);
            bn1 = BatchNorm2d(width);
            conv2 = Conv2d(width, width, 3, stride: stride, padding: 1, bias: false);
            bn2 = BatchNorm2d(width);
            conv3 = Conv2d(width, width * 4, 1, bias: false);
            bn3 = BatchNorm2d(width * 4);
            this.downsample = downsample;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            // In place where torchvision is (see BasicBlock).
            var y = functional.relu(bn1.call(conv1.call(x)), inplace: true);
            y = functional.relu(bn2.call(conv2.call(y)), inplace: true);
            y = bn3.call(conv3.call(y));
            var identity = downsample is null ? x : downsample.call(x);
            return functional.relu(y.add_(identity), inplace: true).MoveToOuterDisposeScope();
        }
    }
}
