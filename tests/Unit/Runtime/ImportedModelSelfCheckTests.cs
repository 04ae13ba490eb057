using Repro.Data;
using Repro.Models.Formats;
using Repro.Runtime;
using Repro.Tests.Unit.Models.Formats;

namespace Repro.Tests.Unit.Runtime;

/// <summary>
/// An honest self-check for imported models: an ONNX graph's Conv, Gemm and pooling nodes are checked
/// like a built-in model's layers, and listed; a TorchScript module, whose layers the check cannot see,
/// is reported as NOT CHECKED — never as "0 configurations, worst error 0". The report goes where
/// <see cref="ArithmeticCheck.Log"/> says, and <see cref="ArithmeticCheck.Skip"/> skips it, saying so.
/// </summary>
[NonParallelizable]
public class ImportedModelSelfCheckTests
{
    static readonly ReproPaths NoData = new(Path.Combine(Path.GetTempPath(), "repro-no-data"), Path.Combine(Path.GetTempPath(), "repro-no-models"));

    static string LoadAndReport(string kind, string name, string extension, ModelImportOptions? options = null)
    {
        var fixture = Fixture.Load(kind, name, extension);
        var log = new StringWriter();
        var previous = ArithmeticCheck.Log;
        ArithmeticCheck.Log = log;
        try
        {
            using var loaded = ModelSource.Load(fixture.ModelPath, NoData, options);
        }
        finally { ArithmeticCheck.Log = previous; }
        return log.ToString();
    }

    [Test]
    public void AnOnnxGraphsConvolutionsLinearLayersAndPoolingAreChecked()
    {
        string report = LoadAndReport("onnx", "allops_opset13", ".onnx");
        Assert.That(report, Does.Contain("arithmetic self-check, allops_opset13.onnx:"));
        var configurations = System.Text.RegularExpressions.Regex.Match(report, @"(\d+) configurations \((\d+) layers\)");
        Assert.That(configurations.Success, Is.True, report);
        Assert.That(int.Parse(configurations.Groups[1].Value), Is.GreaterThan(0), report);
        Assert.That(report, Does.Not.Contain("NOT CHECKED"));
        var check = ArithmeticSelfCheck.Models.Last(m => m.Model == "allops_opset13.onnx");
        Assert.That(check.Layers.Select(l => l.Configuration.Kind), Does.Contain("conv2d"), "the graph's Conv nodes");
        Assert.That(check.Layers.All(l => l.Passed), Is.True);
    }

    [Test]
    public void ATorchScriptModuleIsSaidNotToBeChecked()
    {
        string report = LoadAndReport("torchscript", "traced", ".pt", new ModelImportOptions { InputSize = (16, 16), Mean = [0.5f], Std = [0.5f] });
        Assert.That(report, Does.Contain("NOT CHECKED"));
        Assert.That(report, Does.Not.Contain("0 configurations"));
        Assert.That(ArithmeticCheck.Summary, Does.Contain("NOT CHECKED").And.Contain("traced.pt"));
    }

    [Test]
    public void TheCheckCanBeSkippedAndSaysSo()
    {
        bool skip = ArithmeticCheck.Skip;
        ArithmeticCheck.Skip = true;
        try
        {
            string report = LoadAndReport("onnx", "softmax_opset11", ".onnx");
            Assert.That(report, Does.Contain("SKIPPED"));
            Assert.That(ArithmeticCheck.Summary, Does.Contain("SKIPPED").And.Contain("softmax_opset11.onnx"));
        }
        finally { ArithmeticCheck.Skip = skip; }
    }
}
