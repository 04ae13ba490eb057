using Repro.Data;
using Repro.Models.Tflite;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>The offline quantised MobileNetV2 under the test model root, loaded once for all tests that need it.</summary>
public static class MobileNetV2File
{
    static readonly Lazy<TfliteNetwork> network = new(() => TfliteImporter.Load(Require()));

    /// <summary>The file's path; fails the test loudly, naming the path and the setting, when it is absent.</summary>
    public static string Require()
    {
        string path = TfliteImporter.MobileNetV2Path(TestData.Paths.ModelRoot);
        if (!File.Exists(path))
            Assert.Fail($"test model not found: {path}. Set {ReproPaths.ModelVariable} to a model root that has {TfliteImporter.MobileNetV2Folder}/ (see README: data).");
        return path;
    }

    /// <summary>The imported network, shared (read-only use: do not dispose or change its parameters).</summary>
    public static TfliteNetwork Network
    {
        get
        {
            Require();
            return network.Value;
        }
    }
}
