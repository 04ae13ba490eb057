using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>
/// A small residual CNN for 32x32 images: He et al. 2016's CIFAR ResNet with two basic blocks
/// per stage (a "ResNet-14"): a 3x3 stem of width w, then three stages at widths w, 2w, 4w (the
/// last two start with a stride-2 block: 32 -> 16 -> 8), global average pooling to a 4w-vector —
/// the representation, the input of the last linear layer — and Linear(4w, classes). BatchNorm
/// after every convolution. With the default width 16: 175,258 parameters for two classes.
///
/// Inputs are images in [0,1], used as they are (no mean/std: the BatchNorm after the stem absorbs
/// any input scaling).
///
/// The default widths 16/32/64 were first chosen to dodge wrong libtorch convolutions measured here
/// (24-channel and 48->96 stride-2 configurations were 10-28% off float64). Their cause was found and
/// repaired at start-up (<see cref="Runtime.OneDnnCacheRepair"/>: oneDNN read 1-byte caches), and
/// every model load runs the arithmetic self-check, so any width works now (width 24 is checked in
/// <c>SmallResNetTests</c>); the committed weights keep width 16. The whole network's input and
/// weight gradients are checked against float64 in <c>SmallResNetTests</c>.
/// </summary>
public sealed class SmallResNet : Module<Tensor, Tensor>, IRepresentationModel
{
    /// <summary>Image side in pixels (32, CIFAR-10).</summary>
    public const int Side = 32;
    /// <summary>The default stem width (16), that of the committed weights.</summary>
    public const int DefaultWidth = 16;
    /// <summary>Basic blocks per stage (2).</summary>
    public const int BlocksPerStage = 2;

    readonly TorchSharp.Modules.Conv2d stem;
    readonly TorchSharp.Modules.BatchNorm2d stemNorm;
    readonly TorchSharp.Modules.Sequential stage1, stage2, stage3;
    readonly TorchSharp.Modules.Linear head;

    /// <summary>A freshly initialised network (TorchSharp's default initialisation).</summary>
    /// <param name="classes">Number of classes, &gt;= 2.</param>
    /// <param name="width">Stem width w, &gt;= 1.</param>
    /// <param name="name">The module's name.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classes"/> &lt; 2 or <paramref name="width"/> &lt; 1.</exception>
    public SmallResNet(int classes = 2, int width = DefaultWidth, string name = "SmallResNet") : base(name)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), "a classifier needs >= 2 classes");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), "width must be positive");
        Width = width;
        Classes = classes;
        stem = Conv2d(3, width, 3, padding: 1, bias: false);
        stemNorm = BatchNorm2d(width);
        stage1 = Stage(width, width, 1);
        stage2 = Stage(width, 2 * width, 2);
        stage3 = Stage(2 * width, 4 * width, 2);
        head = Linear(4 * width, classes);
        RegisterComponents();
    }

    /// <summary>The stem width w (stages are w, 2w, 4w channels).</summary>
    public int Width { get; }
    /// <summary>The number of classes (outputs).</summary>
    public int Classes { get; }
    /// <summary>The representation's length, 4w.</summary>
    public long RepresentationSize => 4 * Width;

    /// <summary>The final Linear(4w, classes) layer.</summary>
    public TorchSharp.Modules.Linear Head => head;

    /// <summary>[N,3,32,32] images in [0,1] to the [N,4w] pooled features (after the last ReLU).</summary>
    public Tensor Representation(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"SmallResNet expects images [N,3,H,W], got [{string.Join(",", images.shape)}]");
        using var scope = NewDisposeScope();
        // In place, as torchvision's ResNets: BatchNorm's backward keeps its input, not its output.
        var x = functional.relu(stemNorm.call(stem.call(images)), inplace: true);
        x = stage3.call(stage2.call(stage1.call(x)));
        return x.mean([2, 3]).MoveToOuterDisposeScope();
    }

    // Layers are invoked with call(), not forward(), so that hooks (the arithmetic self-check's trace) see them.
    /// <summary>Logits [N,classes] of images [N,3,32,32] in [0,1]: <see cref="Head"/> applied to <see cref="Representation"/>.</summary>
    /// <exception cref="ArgumentException">The images are not [N,3,H,W].</exception>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return head.call(Representation(images)).MoveToOuterDisposeScope();
    }

    static TorchSharp.Modules.Sequential Stage(int inputs, int outputs, int stride)
    {
        var blocks = new List<(string, Module<Tensor, Tensor>)> { ("0", new BasicBlock(inputs, outputs, stride, "block0")) };
        for (int b = 1; b < BlocksPerStage; b++) blocks.Add(($"{b}", new BasicBlock(outputs, outputs, 1, $"block{b}")));
        return Sequential(blocks);
    }

    /// <summary>The number of trainable parameter elements (175,258 at width 16 with two classes).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>Two 3x3 convolutions with BatchNorm, ReLU, and an identity or 1x1-projection shortcut.</summary>
    sealed class BasicBlock : Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Conv2d conv1, conv2;
        readonly TorchSharp.Modules.BatchNorm2d norm1, norm2;
        readonly TorchSharp.Modules.Conv2d? shortcut;
        readonly TorchSharp.Modules.BatchNorm2d? shortcutNorm;

        public BasicBlock(int inputs, int outputs, int stride, string name) : base(name)
        {
            conv1 = Conv2d(inputs, outputs, 3, stride: stride, padding: 1, bias: false);
            norm1 = BatchNorm2d(outputs);
            conv2 = Conv2d(outputs, outputs, 3, padding: 1, bias: false);
            norm2 = BatchNorm2d(outputs);
            if (stride != 1 || inputs != outputs)
            {
                shortcut = Conv2d(inputs, outputs, 1, stride: stride, bias: false);
                shortcutNorm = BatchNorm2d(outputs);
            }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            // In place: each overwritten tensor is a BatchNorm output, which no backward keeps (one activation buffer fewer each).
            var y = functional.relu(norm1.call(conv1.call(x)), inplace: true);
            y = norm2.call(conv2.call(y));
            var skip = shortcut is null ? x : shortcutNorm!.call(shortcut.call(x));
            return functional.relu(y.add_(skip), inplace: true).MoveToOuterDisposeScope();
        }
    }
}
