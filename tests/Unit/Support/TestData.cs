using Repro.Data;

namespace Repro.Tests.Unit.Support;

/// <summary>The data and model roots the tests read (REPRO_DATA / REPRO_MODELS, else the repo's data/).</summary>
public static class TestData
{
    public static ReproPaths Paths { get; } = ReproPaths.Resolve();

    /// <summary>Fails loudly, naming the folder and the setting, when the data the test needs is absent.</summary>
    public static string Require(string relative)
    {
        string path = Path.Combine(Paths.DataRoot, relative);
        if (!Directory.Exists(path) && !File.Exists(path))
            Assert.Fail($"test data not found: {path}. Set {ReproPaths.DataVariable} to a data root that has it (see README: data).");
        return path;
    }

    public static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "repro-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
