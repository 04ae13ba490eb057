using System.Collections;
using Repro.Data;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Models;

/// <summary>
/// The article's robust model: MadryLab's adversarially trained ResNet50 on Restricted ImageNet
/// (9 classes), from a checkpoint of the <c>robustness</c> library re-exported as a plain
/// state_dict (a <c>.pth</c> written by <c>torch.save(state_dict)</c>, or <c>.safetensors</c>).
/// The architecture is TorchVision's resnet50 with a 9-way head; the checkpoint's own normaliser
/// (Restricted ImageNet mean [0.4717, 0.4499, 0.3837], std [0.2600, 0.2516, 0.2575]) sits inside
/// the model, so inputs are images in [0,1]. The representation is the 2048-vector after global
/// average pooling, the input of <c>fc</c>.
/// </summary>
public sealed class MadryResNet50 : Module<Tensor, Tensor>, IRepresentationModel
{
    public const int Classes = 9;
    public static readonly float[] Mean = [0.4717f, 0.4499f, 0.3837f];
    public static readonly float[] Std = [0.2600f, 0.2516f, 0.2575f];
    public static readonly string[] FileNames = ["madry_robust_resnet50_restricted_imagenet.safetensors", "madry_robust_resnet50_restricted_imagenet.pth"];

    /// <summary>What to tell a user who has not got the checkpoint.</summary>
    public const string HowToGet =
        "download a robust ResNet50 for Restricted ImageNet from MadryLab's robustness library (github.com/MadryLab/robustness, " +
        "'Pretrained models'), then re-export its weights as a plain state_dict: " +
        "python -c \"import torch; c=torch.load('CHECKPOINT.pt', map_location='cpu'); torch.save(c.get('model', c.get('state_dict', c)), " +
        "'madry_robust_resnet50_restricted_imagenet.pth')\" and place the file under the model root ($REPRO_MODELS)";

    readonly Normalized normalized;
    readonly Module<Tensor, Tensor> network;
    readonly List<Module<Tensor, Tensor>> body;
    readonly Module<Tensor, Tensor> fc;

    public MadryResNet50(float[]? mean = null, float[]? std = null, int classes = Classes) : base("MadryResNet50")
    {
        network = torchvision.models.resnet50(num_classes: classes);
        normalized = new Normalized(network, mean ?? Mean, std ?? Std);
        var children = network.named_children().ToList();
        body = children.Where(c => c.name != "fc").Select(c => (Module<Tensor, Tensor>)c.module).ToList();
        fc = (Module<Tensor, Tensor>)children.Single(c => c.name == "fc").module;
        RegisterComponents();
    }

    /// <summary>The TorchVision network (its state_dict keys are what <see cref="MapKeys"/> produces).</summary>
    public Module<Tensor, Tensor> Network => network;

    public override Tensor forward(Tensor images) => normalized.forward(images);

    public Tensor Representation(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = normalized.Normalize(images);
        foreach (var m in body) x = m.forward(x);
        return x.flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The same wrapper around torchvision's standard ImageNet ResNet50 (1000 classes, ImageNet
    /// normaliser), from <c>resnet50-0676ba61.pth</c>: the standard counterpart in claims 3 and 5.
    /// </summary>
    public static MadryResNet50 TorchVisionImageNet(string pthPath)
    {
        var model = new MadryResNet50([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f], 1000);
        model.network.load_py(pthPath);
        model.eval();
        return model;
    }

    /// <summary>The checkpoint under the model root, or null when none of <see cref="FileNames"/> is there.</summary>
    public static string? Find(ReproPaths paths) =>
        FileNames.Select(f => Path.Combine(paths.ModelRoot, f)).FirstOrDefault(File.Exists);

    /// <summary>Loads a re-exported robustness checkpoint (keys as in the library: <c>module.model.*</c>).</summary>
    public static MadryResNet50 Load(string path)
    {
        Dictionary<string, Tensor> raw;
        try { raw = ReadStateDict(path); }
        catch (Exception e) when (e is not ReproInputException)
        {
            throw new ReproInputException($"cannot read {path} as a state_dict (.pth written by torch.save, or .safetensors): {e.Message}", e);
        }
        var (weights, mean, std) = MapKeys(raw);
        var model = new MadryResNet50(mean, std);
        var expected = model.network.state_dict();
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new ReproInputException($"{path} is not a ResNet50 with {Classes} classes: missing {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? "…" : "")}; " +
                                          $"unexpected {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? "…" : "")}");
        foreach (var (key, value) in weights)
            if (!expected[key].shape.SequenceEqual(value.shape))
                throw new ReproInputException($"{path}: {key} has shape [{string.Join(",", value.shape)}], ResNet50 needs [{string.Join(",", expected[key].shape)}]");
        model.network.load_state_dict(weights);
        model.eval();
        Runtime.ArithmeticSelfCheck.Ensure(model, "madry_robust_resnet50", Runtime.ArithmeticSelfCheck.ImageNetInput);
        return model;
    }

    /// <summary>
    /// The robustness library's keys to TorchVision's: <c>module.model.X</c> (or <c>model.X</c>)
    /// becomes <c>X</c>; the attacker's copy (<c>module.attacker.*</c>) is dropped; the
    /// normaliser's <c>new_mean</c>/<c>new_std</c> (shape [3,1,1]) become the model's normalisation
    /// when present (else the Restricted ImageNet values). Any other key is an error naming it.
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
            else if (k == "normalizer.new_mean") mean = value.flatten().to_type(ScalarType.Float32).data<float>().ToArray();
            else if (k == "normalizer.new_std") std = value.flatten().to_type(ScalarType.Float32).data<float>().ToArray();
            else throw new ReproInputException($"unexpected key '{key}' in a robustness checkpoint (expected module.model.*, module.attacker.*, module.normalizer.*)");
        }
        if (weights.Count == 0) throw new ReproInputException("no module.model.* keys: not a robustness checkpoint's model state_dict");
        return (weights, mean, std);
    }

    static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return new Dictionary<string, Tensor>(Safetensors.LoadStateDict(path));
        using var stream = File.OpenRead(path);
        var table = PyTorchUnpickler.UnpickleStateDict(stream);
        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry entry in table) result[(string)entry.Key] = (Tensor)entry.Value!;
        return result;
    }
}
