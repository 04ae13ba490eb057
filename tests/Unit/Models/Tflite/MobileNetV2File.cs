using Repro.Data;
using Repro.Models.Tflite;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>The offline quantised MobileNetV2 under the test model root, loaded once for all tests that need it.</summary>
internal static class MobileNetV2File
{
    static readonly Lazy<TfliteNetwork> network = new(() => TfliteImporter.Load(Require()));

    /// <summary>The file's path; the test is reported NOT RUN, naming the path and the fix, when it is absent.</summary>
    public static string Require()
    {
        string path = TfliteImporter.MobileNetV2Path(TestData.Paths.ModelRoot);
        if (!File.Exists(path))
            TestData.NotRun($"test model not present: {path}. To fix: run 'repro fetch mobilenet_v2' with network, or set {ReproPaths.ModelVariable} to a model root that has {TfliteImporter.MobileNetV2Folder}/ (see README: data and weights)");
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
