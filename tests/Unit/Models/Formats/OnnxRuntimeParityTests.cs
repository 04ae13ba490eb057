using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;
using Repro.Data;
using Repro.Models.Formats.Onnx;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>
/// The ONNX importer against ONNX Runtime, the format's reference runtime: every fixture, and the
/// real CNTK-exported ResNet18 that ML.NET ships in the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 (512-d features of photos).
/// </summary>
public class OnnxRuntimeParityTests
{
    /// <summary>Runs a model in ONNX Runtime, one image at a time (the files may fix a batch of one).</summary>
    public static Tensor RunOnnxRuntime(string path, Tensor images)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(path, options);
        string input = session.InputMetadata.Keys.Single();
        var rows = new List<Tensor>();
        for (long n = 0; n < images.shape[0]; n++)
        {
            using var image = images[n].unsqueeze(0).contiguous();
            var data = new DenseTensor(image.data<float>().ToArray(), image.shape.Select(d => (int)d).ToArray());
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, data)]);
            var output = results[0].AsTensor<float>();
            rows.Add(tensor(output.ToArray(), output.Dimensions.ToArray().Select(d => (long)d).ToArray()));
        }
        return cat(rows, 0);
    }

    [TestCaseSource(typeof(OnnxFixtureTests), nameof(OnnxFixtureTests.Models))]
    public void EveryFixtureComputesWhatOnnxRuntimeComputes(string name)
    {
        var fixture = Fixture.Load("onnx", name, ".onnx");
        using var network = OnnxImporter.Load(fixture.ModelPath);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        var reference = RunOnnxRuntime(fixture.ModelPath, fixture.Input);
        var logits = network.call(fixture.Input);
        // The importer drops a terminal softmax; ONNX Runtime computes it.
        var ours = name.StartsWith("softmax") ? logits.softmax(1) : name.StartsWith("logsoftmax") ? logits.log_softmax(1) : logits;

        double error = Compare.RelativeError(ours, reference.reshape(ours.shape));
        TestContext.Out.WriteLine($"{name}: importer vs ONNX Runtime {OrtVersion}: max error {error:E2} of the largest output");
        Assert.That(error, Is.LessThan(1e-5));
    }

    static string OrtVersion => typeof(InferenceSession).Assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>Where NuGet restored the ResNet18 that ML.NET's DnnImageFeaturizer ships (a test dependency of this project).</summary>
    public static string DnnResNet18Folder()
    {
        // NuGet's package folder: as set, as recorded when the tests were built, or this user's own (a build by
        // another user, or in another container, records a folder this run may not read).
        string?[] roots =
        [
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            typeof(OnnxRuntimeParityTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "NuGetPackageRoot").Value,
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        ];
        var folders = roots.Where(r => !string.IsNullOrEmpty(r))
            .Select(r => Path.Combine(r!, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels")).Distinct().ToArray();
        string? folder = folders.FirstOrDefault(f => File.Exists(Path.Combine(f, "ResNet18Onnx", "ResNet18.onnx")));
        if (folder is null)
            Assert.Fail($"ResNet18 ONNX not found under {string.Join(" or ", folders)}: restore the test project (it downloads Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)");
        return folder!;
    }

    /// <summary>
    /// Photos from the ImageNet validation folder of the data root when it is there, else generated
    /// images (smooth colour fields with edges), said in the output. [N,3,224,224] in [0,1].
    /// </summary>
    public static (Tensor Images, string What) Photos(int count)
    {
        string val = Path.Combine(TestData.Paths.DataRoot, "imagenet", "val");
        if (Directory.Exists(val))
        {
            var files = Directory.GetFiles(val, "*.JPEG", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(count).ToArray();
            if (files.Length == count)
                return (stack(files.Select(f => ImageFile.LoadResizedCentreCrop(f)).ToArray()), $"{count} ImageNet validation photos from {val}");
        }
        var generator = new Generator(3);
        var low = rand([count, 3, 7, 7], generator: generator);
        var images = nn.functional.interpolate(low, [224, 224], mode: InterpolationMode.Bilinear, align_corners: false);
        images = (images + 0.2 * (linspace(0, 1, 224).reshape(1, 1, 1, 224) > 0.5).to(ScalarType.Float32) * (rand([count, 3, 1, 1], generator: generator) - 0.5)).clamp(0, 1);
        return (images, $"{count} generated images (no ImageNet validation photos under {val})");
    }

    [Test]
    public void TheMlNetResNet18GivesOnnxRuntimesFeaturesOnPhotos()
    {
        string folder = DnnResNet18Folder();
        string model = Path.Combine(folder, "ResNet18Onnx", "ResNet18.onnx");
        string preprocess = Path.Combine(folder, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        var (photos, what) = Photos(8);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // ML.NET's own preprocessing graph: 0-255 RGB pixels to BGR minus its mean image.
        var inputs = RunOnnxRuntime(preprocess, photos * 255f);

        var reference = RunOnnxRuntime(model, inputs).flatten(1);
        using var network = OnnxImporter.Load(model);
        var features = network.call(inputs);

        Assert.That(features.shape, Is.EqualTo(new long[] { 8, 512 }));
        Assert.That(network.FlattensOutput, Is.True, "the file's output is [N,512,1,1]");
        var errors = Enumerable.Range(0, 8).Select(n => Compare.RelativeError(features[n], reference[n])).ToArray();
        TestContext.Out.WriteLine($"ResNet18 (CNTK, opset {network.Opset}, {network.Steps.Count} steps) on {what}: importer vs ONNX Runtime {OrtVersion}, " +
                                  $"max |difference| / max |feature| per image: {string.Join(", ", errors.Select(e => e.ToString("E2")))}");
        Assert.That(errors.Max(), Is.LessThan(1e-4), "same 512-d features within 1e-4 relative");
        Assert.That(reference.std().item<float>(), Is.GreaterThan(0.01f), "the features are not degenerate");
    }
}
