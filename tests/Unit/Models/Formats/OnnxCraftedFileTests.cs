using Google.Protobuf;
using Onnx;
using Repro.Models.Formats.Onnx;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>
/// Damaged and crafted ONNX files raise <see cref="ReproInputException"/> naming the file (and the
/// node where there is one): truncated, another format, sizes declared far beyond the data, cycles,
/// external data outside the model's folder, unsupported operators and types. None of them crashes
/// the process or allocates what the file declares before checking it.
/// </summary>
public class OnnxCraftedFileTests
{
    /// <summary>The crafted files, by name, as the CLI test reuses them.</summary>
    public static IEnumerable<(string Name, Func<string, string> Write, string Expected)> Cases()
    {
        yield return ("truncated", folder =>
        {
            byte[] whole = OnnxBuilder.Classifier().ToByteArray();
            string path = Path.Combine(folder, "truncated.onnx");
            File.WriteAllBytes(path, whole[..(whole.Length * 2 / 3)]);
            return path;
        }, "truncated");
        yield return ("wrong magic", folder =>
        {
            string path = Path.Combine(folder, "not-a-model.onnx");
            File.WriteAllBytes(path, [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0, 0, 13, 1, 2, 3]);
            return path;
        }, "");
        yield return ("huge declared initialiser", folder =>
        {
            var model = OnnxBuilder.Classifier();
            var w = model.Graph.Initializer.First(i => i.Name == "fw");
            w.Dims.Clear();
            w.Dims.AddRange([1L << 20, 1L << 20, 1L << 20]);
            return OnnxBuilder.Write(model, "huge-initialiser.onnx", folder);
        }, "elements");
        yield return ("declared size beyond the data", folder =>
        {
            var model = OnnxBuilder.Classifier();
            var w = model.Graph.Initializer.First(i => i.Name == "w");
            w.Dims.Clear();
            w.Dims.AddRange([4, 3, 300, 300]);
            return OnnxBuilder.Write(model, "short-data.onnx", folder);
        }, "holds");
        yield return ("huge input", folder =>
        {
            var model = OnnxBuilder.Classifier();
            model.Graph.Input.Clear();
            model.Graph.Input.Add(OnnxBuilder.ImageInput("x", [1, 3, 100000, 100000]));
            return OnnxBuilder.Write(model, "huge-input.onnx", folder);
        }, "larger than");
        yield return ("huge ConstantOfShape", folder =>
        {
            var model = OnnxBuilder.Classifier();
            model.Graph.Initializer.Add(OnnxBuilder.Longs("big", [1 << 20, 1 << 20]));
            model.Graph.Node.Add(OnnxBuilder.Node("ConstantOfShape", ["big"], ["z"], "fill"));
            model.Graph.Node.Add(OnnxBuilder.Node("Add", ["r", "z"], ["r2"], "add"));
            return OnnxBuilder.Write(model, "huge-fill.onnx", folder);
        }, "node 'fill' (ConstantOfShape)");
        yield return ("huge pads", folder =>
        {
            var model = OnnxBuilder.Classifier();
            model.Graph.Initializer.Add(OnnxBuilder.Longs("pads", [0, 0, 60000, 60000, 0, 0, 60000, 60000]));
            model.Graph.Node[1] = OnnxBuilder.Node("Pad", ["c", "pads"], ["r"], "pad");
            return OnnxBuilder.Write(model, "huge-pad.onnx", folder);
        }, "node 'pad' (Pad)");
        yield return ("cyclic graph", folder =>
        {
            var model = OnnxBuilder.Classifier();
            model.Graph.Node[1] = OnnxBuilder.Node("Add", ["c", "g2"], ["r"], "loop_add");
            model.Graph.Node.Add(OnnxBuilder.Node("Relu", ["r"], ["g2"], "loop_relu"));
            return OnnxBuilder.Write(model, "cyclic.onnx", folder);
        }, "cycle");
        yield return ("external data outside the folder", folder =>
        {
            var model = OnnxBuilder.Classifier();
            var w = model.Graph.Initializer.First(i => i.Name == "w");
            w.FloatData.Clear();
            w.DataLocation = TensorProto.Types.DataLocation.External;
            w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../../../etc/passwd" });
            return OnnxBuilder.Write(model, "escape.onnx", folder);
        }, "outside the model's folder");
        yield return ("external data past its file", folder =>
        {
            var model = OnnxBuilder.Classifier();
            var w = model.Graph.Initializer.First(i => i.Name == "w");
            w.FloatData.Clear();
            w.DataLocation = TensorProto.Types.DataLocation.External;
            File.WriteAllBytes(Path.Combine(folder, "weights.bin"), new byte[100]);
            w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
            w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "64" });
            return OnnxBuilder.Write(model, "past-end.onnx", folder);
        }, "lie outside");
        yield return ("unsupported operator", folder =>
        {
            var model = OnnxBuilder.Classifier();
            model.Graph.Node[1] = OnnxBuilder.Node("Erf", ["c"], ["r"], "gelu_part");
            return OnnxBuilder.Write(model, "erf.onnx", folder);
        }, "node 'gelu_part' (Erf): operator Erf is not supported (supported: Add, AveragePool");
        yield return ("unsupported data type", folder =>
        {
            var model = OnnxBuilder.Classifier();
            var w = model.Graph.Initializer.First(i => i.Name == "fb");
            w.FloatData.Clear();
            w.DataType = (int)TensorProto.Types.DataType.Complex64;
            return OnnxBuilder.Write(model, "complex.onnx", folder);
        }, "COMPLEX64");
        yield return ("a value nobody writes", folder =>
        {
            var model = OnnxBuilder.Classifier();
            model.Graph.Node[1] = OnnxBuilder.Node("Relu", ["nowhere"], ["r"], "orphan");
            return OnnxBuilder.Write(model, "orphan.onnx", folder);
        }, "node 'orphan' (Relu): reads 'nowhere'");
        yield return ("opset too old", folder =>
        {
            var model = OnnxBuilder.Classifier(opset: 6);
            return OnnxBuilder.Write(model, "opset6.onnx", folder);
        }, "opset 6");
    }

    public static IEnumerable<TestCaseData> CaseData() => Cases().Select(c => new TestCaseData(c.Name).SetName($"CraftedOnnxIsRefused({c.Name})"));

    [TestCaseSource(nameof(CaseData))]
    public void CraftedOnnxIsRefused(string name)
    {
        var crafted = Cases().Single(c => c.Name == name);
        string path = crafted.Write(TestData.TempFolder());

        var error = Assert.Throws<ReproInputException>(() => OnnxImporter.Load(path).Dispose());

        TestContext.Out.WriteLine($"{name}: {error!.Message}");
        Assert.That(error.Message, Does.Contain(path));
        Assert.That(error.Message, Does.Contain(crafted.Expected));
    }

    [Test]
    public void TheUntouchedClassifierLoads()
    {
        using var network = OnnxImporter.Load(OnnxBuilder.Write(OnnxBuilder.Classifier()));
        using var logits = network.call(rand(2, 3, 8, 8));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 5 }));
    }

    [Test]
    public void ExternalDataInsideTheFolderIsRead()
    {
        string folder = TestData.TempFolder();
        var model = OnnxBuilder.Classifier();
        var w = model.Graph.Initializer.First(i => i.Name == "w");
        float[] values = w.FloatData.ToArray();
        w.FloatData.Clear();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        byte[] bytes = new byte[16 + values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 16, values.Length * 4);
        File.WriteAllBytes(Path.Combine(folder, "data", "w.bin"), bytes);
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "data/w.bin" });
        w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = (values.Length * 4).ToString() });
        string external = OnnxBuilder.Write(model, "external.onnx", folder);
        string inline = OnnxBuilder.Write(OnnxBuilder.Classifier());

        using var a = OnnxImporter.Load(external);
        using var b = OnnxImporter.Load(inline);
        using var x = rand(2, 3, 8, 8);
        using var ya = a.call(x);
        using var yb = b.call(x);
        Assert.That(ya.allclose(yb), Is.True);
    }
}
