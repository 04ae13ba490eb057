using Repro.Data;
using Repro.Models.Formats.PyTorch;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>
/// The article's robust model: MadryLab's adversarially trained ResNet50 on Restricted ImageNet
/// (9 classes), loaded from a checkpoint of the <c>robustness</c> library as published — the
/// tutorial bundle's <c>RestrictedImageNet.pt</c>, or any robustness checkpoint: a dict with
/// <c>model</c> (the state_dict of <c>DataParallel(AttackerModel)</c>: <c>module.model.*</c>,
/// <c>module.attacker.model.*</c>, <c>module.normalizer.*</c>), <c>optimizer</c>, <c>schedule</c>,
/// <c>epoch</c>, written with <c>pickle_module=dill</c> in either PyTorch serialisation — or a bare
/// state_dict with those keys (.pth, .safetensors). The architecture is torchvision's resnet50 with
/// a 9-way head (<see cref="TorchvisionResNetNetwork"/>); the Restricted ImageNet normaliser (mean
/// [0.4717, 0.4499, 0.3837], std [0.2600, 0.2516, 0.2575], checked against the checkpoint's
/// <c>normalizer</c> buffers when present) sits inside the model, so inputs are images in [0,1]
/// [N,3,H,W] and outputs logits [N,9]. The representation is the 2048-vector after global average
/// pooling, the input of <c>fc</c>.
/// </summary>
public sealed class MadryResNet50 : Module<Tensor, Tensor>, IRepresentationModel
{
    /// <summary>Restricted ImageNet's number of classes (9): the head's outputs.</summary>
    public const int Classes = 9;
    /// <summary>Restricted ImageNet's normaliser mean per RGB channel, as in MadryLab <c>robustness</c>.</summary>
    public static readonly float[] Mean = [0.4717f, 0.4499f, 0.3837f];
    /// <summary>Restricted ImageNet's normaliser standard deviation per RGB channel, as in MadryLab <c>robustness</c>.</summary>
    public static readonly float[] Std = [0.2600f, 0.2516f, 0.2575f];

    /// <summary>The architecture: torchvision's resnet50 with a 9-way head.</summary>
    public static ResNetShape Shape { get; } = ResNetShape.ResNet50 with { Classes = Classes };

    /// <summary>Names looked for under the model root, in this order.</summary>
    public static readonly string[] FileNames =
    [
        "RestrictedImageNet.pt",
        "madry_robust_resnet50_restricted_imagenet.pt",
        "madry_robust_resnet50_restricted_imagenet.pth",
        "madry_robust_resnet50_restricted_imagenet.safetensors",
    ];

    /// <summary>What to tell a user who has not got the checkpoint.</summary>
    public const string HowToGet =
        "place MadryLab's robust ResNet50 for Restricted ImageNet under the model root ($REPRO_MODELS) as RestrictedImageNet.pt: " +
        "the file of that name in the tutorial's bundle (tutorial.zip from people.csail.mit.edu/shibani), or any Restricted ImageNet " +
        "ResNet50 checkpoint of the robustness library (github.com/MadryLab/robustness), as published (no conversion needed)";

    /// <summary>How far the checkpoint's normaliser may differ from <see cref="Mean"/>/<see cref="Std"/> (they are stored as float32 of 4-decimal constants).</summary>
    public const float NormaliserTolerance = 1e-5f;

    readonly Normalized normalized;
    readonly TorchvisionResNetNetwork network;

    /// <summary>An untrained robustness-style ResNet50 (no weights loaded; <see cref="Load(string)"/> loads the published model).</summary>
    /// <param name="mean">Normaliser mean per RGB channel; null: <see cref="Mean"/>.</param>
    /// <param name="std">Normaliser standard deviation per RGB channel; null: <see cref="Std"/>.</param>
    /// <param name="classes">Number of classes of the head.</param>
    public MadryResNet50(float[]? mean = null, float[]? std = null, int classes = Classes)
        : this(Shape with { Classes = classes }, mean ?? Mean, std ?? Std)
    {
    }

    /// <summary>A robustness-style model around any torchvision-layout ResNet (the fixtures use a narrow one).</summary>
    public MadryResNet50(ResNetShape shape, float[] mean, float[] std) : base("MadryResNet50")
    {
        network = new TorchvisionResNetNetwork(shape);
        normalized = new Normalized(network, mean, std);
        RegisterComponents();
    }

    /// <summary>The TorchVision network (its state_dict keys are what <see cref="MapKeys"/> produces); takes normalised images.</summary>
    public Module<Tensor, Tensor> Network => network;

    /// <summary>Logits [N,classes] of images [N,3,H,W] in [0,1] (normalised inside).</summary>
    public override Tensor forward(Tensor images) => normalized.call(images);

    /// <summary>The features [N,D] after global average pooling (the input of <c>fc</c>; D = 2048 for ResNet50) of images [N,3,H,W] in [0,1], normalised first.</summary>
    public Tensor Representation(Tensor images)
    {
        using var scope = NewDisposeScope();
        return network.Features(normalized.Normalize(images)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The same wrapper around torchvision's standard ImageNet ResNet50 (1000 classes, ImageNet
    /// normaliser), from <c>resnet50-0676ba61.pth</c>: the standard counterpart in claims 3 and 5.
    /// </summary>
    public static MadryResNet50 TorchVisionImageNet(string pthPath)
    {
        var model = new MadryResNet50(ResNetShape.ResNet50, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        try
        {
            using var _ = NewDisposeScope();
            using var weights = StateDictFile.Read(pthPath);
            model.network.LoadStrict(weights.StateDict, pthPath);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>The checkpoint under the model root, or null when none of <see cref="FileNames"/> is there.</summary>
    public static string? Find(ReproPaths paths) =>
        FileNames.Select(f => Path.Combine(paths.ModelRoot, f)).FirstOrDefault(File.Exists);

    /// <summary>
    /// Loads a robustness checkpoint as published (see the class summary), in eval mode.
    /// Throws <see cref="ReproInputException"/> naming the file when it cannot be read, refers to
    /// a Python global outside the checkpoint allow-list, is not a ResNet50 with 9 classes, or
    /// carries a normaliser other than Restricted ImageNet's.
    /// </summary>
    public static MadryResNet50 Load(string path) => Load(path, Shape);

    /// <summary>As <see cref="Load(string)"/>, for a robustness checkpoint of another torchvision-layout ResNet.</summary>
    public static MadryResNet50 Load(string path, ResNetShape shape)
    {
        if (!File.Exists(path)) throw new ReproInputException($"checkpoint not found: {path}");
        var model = new MadryResNet50(shape, Mean, Std);
        try
        {
            using var _ = NewDisposeScope();
            using var file = StateDictFile.Read(path);
            var (weights, mean, std) = MapKeys(file.StateDict);
            CheckNormaliser(path, "mean", mean, Mean);
            CheckNormaliser(path, "std", std, Std);
            model.network.LoadStrict(weights, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        Runtime.ArithmeticSelfCheck.Ensure(model, "madry_robust_resnet50", Runtime.ArithmeticSelfCheck.ImageNetInput);
        return model;
    }

    static void CheckNormaliser(string path, string what, float[] found, float[] expected)
    {
        if (found.Length != expected.Length || found.Zip(expected).Any(p => Math.Abs(p.First - p.Second) > NormaliserTolerance))
            throw new ReproInputException($"{path}: the checkpoint's normaliser {what} is [{string.Join(", ", found)}], Restricted ImageNet's is [{string.Join(", ", expected)}]: not a Restricted ImageNet model");
    }

    /// <summary>
    /// The robustness library's keys to TorchVision's: <c>module.model.X</c> (or <c>model.X</c>)
    /// becomes <c>X</c>; the attacker's copy (<c>module.attacker.*</c>: the same network again and
    /// its normaliser) is dropped; the normaliser's <c>new_mean</c>/<c>new_std</c> (shape [3,1,1])
    /// are returned when present (else the Restricted ImageNet values). Any other key is an error naming it.
    /// </summary>
    public static (Dictionary<string, Tensor> Weights, float[] Mean, float[] Std) MapKeys(IReadOnlyDictionary<string, Tensor> checkpoint)
    {
        var weights = new Dictionary<string, Tensor>();
        float[] mean = Mean, std = Std;
        foreach (var (key, value) in checkpoint)
        {
            string k = key.StartsWith("module.") ? key["module.".Length..] : key;
            if (k.StartsWith("model.")) weights[k["model.".Length..]] = value;
            else if (k.StartsWith("attacker.")) continue;
            else if (k == "normalizer.new_mean") mean = Floats(value);
            else if (k == "normalizer.new_std") std = Floats(value);
            else throw new ReproInputException($"unexpected key '{CheckpointFormatException.Printable(key)}' in a robustness checkpoint (expected module.model.*, module.attacker.*, module.normalizer.*)");
        }
        if (weights.Count == 0) throw new ReproInputException("no module.model.* keys: not a robustness checkpoint's model state_dict");
        return (weights, mean, std);
    }

    static float[] Floats(Tensor value)
    {
        using var _ = NewDisposeScope();
        return value.flatten().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
    }
}
