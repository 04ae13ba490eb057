using NUnit.Framework;

namespace Repro.Tests.Unit;

/// <summary>Removes the run's temporary folders (<see cref="Support.TestData.TempFolder"/>) when every test has run.</summary>
[SetUpFixture]
public class TemporaryFilesSetUp
{
    [OneTimeTearDown]
    public void RemoveTemporaryFolders() => Support.TestData.RemoveTempFolders();
}
