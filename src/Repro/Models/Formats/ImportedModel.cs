using Repro.Models.Formats.Onnx;
using Repro.Models.Tflite;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Models.Formats;

/// <summary>
/// A model file made into what Repro's attacks and explanations take: images [N,C,H,W] in [0,1]
/// in, one [N, classes] logit tensor out. Inside, in order: the normalisation ((x - mean) / std per
/// channel, from the file where it says, else from the options), BGR channel order where the file
/// says so, channels-last layout where the graph takes it, the network, then the output made into
/// logits (a background output dropped; probabilities turned into log-probabilities, which
/// softmax maps back to the same probabilities).
/// </summary>
public sealed class ImportedModel : nn.Module<Tensor, Tensor>, IRepresentationModel
{
    readonly nn.Module<Tensor, Tensor> network;
    readonly Normalized? normalize;
    readonly bool bgr, channelsLast;
    bool dropBackground, logOfProbabilities;

    internal ImportedModel(nn.Module<Tensor, Tensor> network, (int C, int H, int W) input, float[]? mean, float[]? std, bool bgr, bool channelsLast)
        : base("ImportedModel")
    {
        this.network = network;
        normalize = mean is null ? null : new Normalized(nn.Identity(), mean, std!);
        this.bgr = bgr;
        this.channelsLast = channelsLast;
        Input = input;
        RegisterComponents();
    }

    /// <summary>The image size the model takes: channels, height, width.</summary>
    public (int C, int H, int W) Input { get; }

    /// <summary>The file's network (an <see cref="OnnxNetwork"/>, <see cref="TfliteNetwork"/> or TorchScript network), which takes the file's own input.</summary>
    public nn.Module<Tensor, Tensor> Network => network;

    /// <summary>True when the file's outputs are probabilities and the model returns their logarithm.</summary>
    public bool ReturnsLogOfProbabilities => logOfProbabilities;

    /// <summary>True when output 0 of the file (a background class) is dropped.</summary>
    public bool DropsBackground => dropBackground;

    internal void UseLogOfProbabilities() => logOfProbabilities = true;

    internal void DropBackground() => dropBackground = true;

    /// <summary>True when the file's network ends in a linear classifier whose input <see cref="Representation"/> can return.</summary>
    public bool HasRepresentation => network switch
    {
        OnnxNetwork o => o.HasRepresentation,
        TfliteNetwork t => t.HasRepresentation,
        _ => false,
    };

    /// <summary>[N,C,H,W] images in [0,1] to the network's own input.</summary>
    public Tensor Prepare(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != Input.C || images.shape[2] != Input.H || images.shape[3] != Input.W)
            throw new ArgumentException($"the model takes images [N,{Input.C},{Input.H},{Input.W}] in [0,1], got [{string.Join(",", images.shape)}]");
        var x = normalize?.Normalize(images) ?? images.alias();
        if (bgr) x = x.flip(1);
        if (channelsLast) x = x.permute(0, 2, 3, 1);
        return x;
    }

    /// <summary>Logits [N,classes] of images [N,C,H,W] in [0,1]: <see cref="Prepare"/>, the network, then the output made into logits.</summary>
    /// <exception cref="ArgumentException">The images are not [N,C,H,W] of <see cref="Input"/>'s size.</exception>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var y = network.call(Prepare(images));
        return Logits(y).MoveToOuterDisposeScope();
    }

    /// <summary>The network's raw output [N,K] to the model's logits.</summary>
    internal Tensor Logits(Tensor y)
    {
        if (y.dim() > 2) y = y.reshape(y.shape[0], -1);
        if (dropBackground) y = y.narrow(1, 1, y.shape[1] - 1);
        if (logOfProbabilities) y = y.clamp_min(1e-30).log();
        return y;
    }

    /// <summary>The input of the file's final linear classifier, [N,D].</summary>
    public Tensor Representation(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = Prepare(images);
        return (network switch
        {
            OnnxNetwork { HasRepresentation: true } o => o.Representation(x),
            TfliteNetwork { HasRepresentation: true } t => t.Representation(x),
            _ => throw new ReproInputException($"the model does not end in a linear classifier Repro can find (Gemm/MatMul, FULLY_CONNECTED, 1x1 convolution), so it has no representation for feature visualisation"),
        }).MoveToOuterDisposeScope();
    }
}
