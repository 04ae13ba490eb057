using System.Text.Json;
using System.Text.Json.Nodes;
using Repro.Data;
using Repro.Models;
using Repro.Models.Tflite;
using Repro.Runtime;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Runtime;

/// <summary>
/// Differential tests against PyTorch: every layer configuration of the registry models (ResNet18 and
/// ResNet50 with random weights, the imported MobileNetV2 — channels-last inputs included, as the
/// import feeds them — and the CIFAR SmallResNet), at batch 1 and 2, forward and input gradient,
/// computed by TorchSharp in float32 and float64 and compared with PyTorch 1.13's float32 results in
/// fixtures/pytorch-*.json (written by fixtures/make_layer_fixtures.py on the same deterministic inputs
/// and weights). Tolerance: 1e-4 of the reference's largest magnitude for sampled values, and of its
/// absolute sum for the sum. The configurations are listed in the fixtures, so this runs without the
/// model files; <see cref="TheFixturesCoverEveryLayerConfigurationOfEveryModel"/> keeps them complete.
/// </summary>
[NonParallelizable]
public class LayerFixtureTests
{
    const double Tolerance = 1e-4;
    static string Folder => Path.Combine(ReproPaths.RepositoryRoot(), "tests", "Unit", "Runtime", "fixtures");
    static readonly string[] ModelNames = ["resnet18", "resnet50", "mobilenet_v2", "smallresnet"];

    static IEnumerable<TestCaseData> Fixtures() => ModelNames.Select(m => new TestCaseData(m).SetName($"PyTorch fixtures, {m}"));

    [TestCaseSource(nameof(Fixtures))]
    public void TorchSharpAgreesWithPyTorchOnEveryLayerConfiguration(string model)
    {
        var doc = Read(model);
        var failures = new List<string>();
        foreach (var c in doc["configurations"]!.AsArray())
        {
            var configuration = Configuration(c!);
            foreach (var r in c!["results"]!.AsArray())
            {
                using var scope = NewDisposeScope();
                int batch = (int)r!["batch"]!;
                foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
                {
                    var (y, g) = Compute(configuration, batch, dtype);
                    double forward = Error(y, r["output"]!), gradient = Error(g, r["inputGradient"]!);
                    string line = $"{c["layer"]}: {configuration.Describe()}, batch {batch}, {dtype}: forward {forward:0.0e+00}, input gradient {gradient:0.0e+00}";
                    TestContext.Out.WriteLine(line);
                    if (!(forward <= Tolerance && gradient <= Tolerance)) failures.Add(line);
                }
            }
        }
        Assert.That(failures, Is.Empty, $"disagreements with {doc["generator"]}");
    }

    [Test]
    public void TheFixturesCoverEveryLayerConfigurationOfEveryModel()
    {
        foreach (var (name, model, input) in Models())
        {
            using var _ = model;
            var keys = Read(name)["configurations"]!.AsArray().Select(c => (string)c!["key"]!).ToHashSet();
            var traced = LayerConfiguration.Trace(model, input, ArithmeticSelfCheck.Batches, out var unseen);
            Assert.That(unseen, Is.Empty, name);
            Assert.That(traced.Select(t => t.Configuration.Key).Where(k => !keys.Contains(k)), Is.Empty,
                $"{name} has layer configurations the PyTorch fixtures lack: run WriteTheLayerConfigurationsOfEveryModel, then fixtures/make_layer_fixtures.py");
        }
    }

    /// <summary>Regenerates fixtures/layer-configurations.json, the input of make_layer_fixtures.py (needs the MobileNetV2 file).</summary>
    [Test, Explicit("writes the fixture inputs; run by name, then /usr/bin/python3 tests/Unit/Runtime/fixtures/make_layer_fixtures.py")]
    public void WriteTheLayerConfigurationsOfEveryModel()
    {
        var models = new JsonArray();
        foreach (var (name, model, input) in Models())
        {
            using var owned = model;
            var traced = LayerConfiguration.Trace(model, input, ArithmeticSelfCheck.Batches, out var _);
            models.Add(new JsonObject { ["name"] = name, ["configurations"] = new JsonArray(traced.Select(t => Json(t.Configuration, t.Layer)).ToArray()) });
        }
        string path = Path.Combine(Folder, "layer-configurations.json");
        File.WriteAllText(path, new JsonObject { ["models"] = models }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        TestContext.Out.WriteLine($"wrote {path}");
    }

    static IEnumerable<(string Name, nn.Module<Tensor, Tensor> Model, long[] Input)> Models()
    {
        yield return ("resnet18", TorchvisionResNet.Create("resnet18"), ArithmeticSelfCheck.ImageNetInput);
        yield return ("resnet50", TorchvisionResNet.Create("resnet50"), ArithmeticSelfCheck.ImageNetInput);
        yield return ("mobilenet_v2", TfliteImporter.Load(MobileNetV2File.Require()), ArithmeticSelfCheck.ImageNetInput);
        yield return ("smallresnet", new SmallResNet(), [3, SmallResNet.Side, SmallResNet.Side]);
    }

    static JsonObject Read(string model)
    {
        string path = Path.Combine(Folder, $"pytorch-{model}.json");
        Assert.That(File.Exists(path), Is.True, $"fixture missing: {path} (see fixtures/make_layer_fixtures.py)");
        return JsonNode.Parse(File.ReadAllText(path))!.AsObject();
    }

    static (Tensor Output, Tensor InputGradient) Compute(LayerConfiguration c, int batch, ScalarType dtype)
    {
        var x = DeterministicValues.Tensor(1, [batch, .. c.Input]).to_type(dtype);
        if (c.ChannelsLast) x = LayerConfiguration.ToChannelsLast(x);
        x.requires_grad_(true);
        Tensor? w = null, b = null;
        if (c.Weight is not null)
        {
            w = DeterministicValues.Tensor(2, c.Weight, DeterministicValues.WeightScale(c.Weight.Skip(1).Aggregate(1L, (a, d) => a * d))).to_type(dtype);
            if (c.Bias) b = DeterministicValues.Tensor(3, [c.Weight[0]], 0.125f).to_type(dtype);
        }
        var y = c.Run(x, w, b);
        var upstream = DeterministicValues.Tensor(4, y.shape).to_type(dtype);
        var g = autograd.grad([(y * upstream).sum()], [x])[0];
        return (y.detach(), g);
    }

    /// <summary>Worst of: sampled values against the reference (relative to its largest magnitude), and the sum (relative to its absolute sum).</summary>
    static double Error(Tensor actual, JsonNode reference)
    {
        var flat = actual.reshape(-1).to_type(ScalarType.Float64);
        Assert.That(flat.numel(), Is.EqualTo((long)reference["numel"]!));
        double absMax = (double)reference["absMax"]!, absSum = (double)reference["absSum"]!;
        var expected = reference["values"]!.AsArray().Select(v => (double)v!).ToArray();
        var positions = DeterministicValues.Positions(flat.numel(), expected.Length);
        var sampled = flat[tensor(positions)];
        double worst = (sampled - tensor(expected)).abs().max().item<double>() / Math.Max(absMax, 1e-30);
        double sum = Math.Abs(flat.sum().item<double>() - (double)reference["sum"]!) / Math.Max(absSum, 1e-30);
        return double.IsNaN(worst) || double.IsNaN(sum) ? double.NaN : Math.Max(worst, sum);
    }

    static LayerConfiguration Configuration(JsonNode c)
    {
        static long[]? Longs(JsonNode? n) => n is JsonArray a ? a.Select(v => (long)v!).ToArray() : null;
        string kind = (string)c["kind"]!;
        long[] kernel = Longs(c["kernel"]) ?? [1, 1], stride = Longs(c["stride"])!;
        bool same = (bool)c["samePadding"]!;
        return new LayerConfiguration
        {
            Kind = kind, Input = Longs(c["input"])!, ChannelsLast = (bool)c["channelsLast"]!, Weight = Longs(c["weight"]), Bias = (bool)c["bias"]!,
            Stride = stride, Padding = Longs(c["padding"])!, Dilation = Longs(c["dilation"])!, Groups = (long)c["groups"]!, Pad = Longs(c["pad"]),
            Kernel = Longs(c["kernel"]), CeilMode = (bool)c["ceilMode"]!, SamePadding = same, Output = Longs(c["output"])!,
            Module = kind == "tf_avg_pool2d"
                ? new TfAveragePool2d("pool", same ? TflitePadding.SAME : TflitePadding.VALID, (int)kernel[0], (int)kernel[1], (int)stride[0], (int)stride[1], TfliteActivation.NONE)
                : null,
        };
    }

    static JsonObject Json(LayerConfiguration c, string layer)
    {
        static JsonNode? Array(long[]? v) => v is null ? null : new JsonArray(v.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
        return new JsonObject
        {
            ["layer"] = layer, ["key"] = c.Key, ["kind"] = c.Kind, ["input"] = Array(c.Input), ["channelsLast"] = c.ChannelsLast,
            ["weight"] = Array(c.Weight), ["bias"] = c.Bias, ["stride"] = Array(c.Stride), ["padding"] = Array(c.Padding),
            ["dilation"] = Array(c.Dilation), ["groups"] = c.Groups, ["pad"] = Array(c.Pad), ["kernel"] = Array(c.Kernel),
            ["ceilMode"] = c.CeilMode, ["samePadding"] = c.SamePadding, ["output"] = Array(c.Output),
        };
    }
}
