using Repro.Runtime;

namespace Repro.Tests.Claims;

/// <summary>
/// Applies Repro's oneDNN configuration (REPRO_ONEDNN, default: repair the cache sizes where the CPU
/// needs it) before any test runs libtorch: the configuration is process-wide and must precede
/// oneDNN's first use (see src/Repro/Runtime/OneDnnConfiguration.cs).
/// </summary>
[SetUpFixture]
public class ArithmeticSetUp
{
    [OneTimeSetUp]
    public void ApplyOneDnnConfiguration()
    {
        TestProjectTurn.Take("Claims", TestContext.Progress);
        OneDnnConfiguration.Apply();
        TestContext.Progress.WriteLine(OneDnnConfiguration.Summary);
    }

    /// <summary>What the arithmetic self-check found for the models the claims loaded (each load runs it).</summary>
    [OneTimeTearDown]
    public void ReportSelfCheck()
    {
        TestContext.Progress.WriteLine(ArithmeticSelfCheck.Summary);
        TestProjectTurn.Release();
    }
}
