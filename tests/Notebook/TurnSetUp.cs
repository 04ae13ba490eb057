namespace Repro.Tests.Notebook;

/// <summary>The notebook's kernel runs libtorch: this project waits its turn like the others (<see cref="TestProjectTurn"/>).</summary>
[SetUpFixture]
public class TurnSetUp
{
    [OneTimeSetUp]
    public void TakeTheTurn() => TestProjectTurn.Take("Notebook", TestContext.Progress);

    [OneTimeTearDown]
    public void GiveTheTurn() => TestProjectTurn.Release();
}
