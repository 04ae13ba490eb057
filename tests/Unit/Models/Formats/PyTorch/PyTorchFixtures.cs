using System.Text.Json;
using Repro.Data;
using Repro.Models;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats.PyTorch;

/// <summary>
/// The checkpoints under fixtures/, written by PyTorch 1.13 (fixtures/make_fixtures.py, run with
/// Debian's /usr/bin/python3), and what the script recorded about them in JSON.
/// </summary>
public static class PyTorchFixtures
{
    public static string Folder => Path.Combine(ReproPaths.RepositoryRoot(), "tests", "Unit", "Models", "Formats", "PyTorch", "fixtures");

    public static string PathOf(string name)
    {
        string path = Path.Combine(Folder, name);
        if (!File.Exists(path)) Assert.Fail($"fixture missing: {path} (regenerate with /usr/bin/python3 {Path.Combine(Folder, "make_fixtures.py")})");
        return path;
    }

    public static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(PathOf(name))).RootElement;

    public static int[] Ints(JsonElement element) => element.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>A float32 tensor of the recorded shape from a JSON list of values.</summary>
    public static Tensor Floats(JsonElement values, JsonElement shape) =>
        tensor(values.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).reshape(shape.EnumerateArray().Select(e => e.GetInt64()).ToArray());

    /// <summary>The narrow ResNet a fixture's JSON describes.</summary>
    public static ResNetShape Shape(JsonElement json, ResNetBlock block) =>
        new(block, Ints(json.GetProperty("blocks")), json.GetProperty("stem").GetInt32(), Ints(json.GetProperty("widths")), json.GetProperty("classes").GetInt32());

    /// <summary>max |a - b| relative to max |b|: "within 1e-4 of their scale".</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var _ = NewDisposeScope();
        double scale = expected.abs().max().item<float>();
        return (actual - expected).abs().max().item<float>() / scale;
    }
}
