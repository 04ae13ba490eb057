using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>
/// The committed PyTorch fixtures (fixtures/make_fixtures.py): each model NAME with its input, PyTorch's
/// output, an output weighting w and PyTorch's input gradient of sum(output * w).
/// </summary>
public sealed record Fixture(string Name, string ModelPath, Tensor Input, Tensor Output, Tensor Weights, Tensor Gradient)
{
    public static string Folder(string kind) => Path.Combine(AppContext.BaseDirectory, "Models", "Formats", "fixtures", kind);

    public static Fixture Load(string kind, string name, string extension)
    {
        string folder = Folder(kind);
        string model = Path.Combine(folder, name + extension);
        if (!File.Exists(model)) Assert.Fail($"fixture missing: {model} (generate with /usr/bin/python3 tests/Unit/Models/Formats/fixtures/make_fixtures.py)");
        Tensor Read(string part) => Npy.Read(Path.Combine(folder, $"{name}.{part}.npy"));
        return new Fixture(name, model, Read("input"), Read("output"), Read("weights"), Read("grad"));
    }
}

/// <summary>Reads the float32 little-endian C-order .npy files numpy.save writes.</summary>
public static class Npy
{
    public static Tensor Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY") throw new InvalidDataException($"{path}: not a .npy file");
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int start = major == 1 ? 10 : 12;
        string header = Encoding.ASCII.GetString(bytes, start, headerLength);
        if (!header.Contains("'descr': '<f4'") || header.Contains("'fortran_order': True")) throw new InvalidDataException($"{path}: expected little-endian float32 in C order: {header}");
        var shapeText = Regex.Match(header, @"'shape': \(([^)]*)\)").Groups[1].Value;
        long[] shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        int offset = start + headerLength;
        var values = new float[(bytes.Length - offset) / 4];
        Buffer.BlockCopy(bytes, offset, values, 0, values.Length * 4);
        return tensor(values, shape);
    }
}

/// <summary>Comparisons that say where and by how much two tensors differ.</summary>
public static class Compare
{
    /// <summary>max |actual - expected| / max |expected|: the error relative to the tensor's scale.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var a = actual.detach().to(CPU).to_type(ScalarType.Float64);
        using var e = expected.detach().to(CPU).to_type(ScalarType.Float64);
        Assert.That(a.shape, Is.EqualTo(e.shape), "shapes differ");
        double scale = e.abs().max().item<double>();
        return (a - e).abs().max().item<double>() / Math.Max(scale, 1e-12);
    }
}
