using Repro.Runtime;

namespace Repro.Tests.Unit;

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
        TestProjectTurn.Take("Unit", TestContext.Progress);
        OneDnnConfiguration.Apply();
        TestContext.Progress.WriteLine(OneDnnConfiguration.Summary);
    }

    /// <summary>The next test project's turn.</summary>
    [OneTimeTearDown]
    public void GiveTheTurn() => TestProjectTurn.Release();
}
