using Repro.Application;
using Repro.Data;
using Repro.Training;

namespace Repro.Tests.Claims;

/// <summary>
/// Reproduces the committed weights under data/weights/ (explicit: runs only when named, e.g.
/// <c>dotnet test tests/Claims -c Release --filter "FullyQualifiedName~TrainCommittedWeights.Robust"</c>).
/// One thread: the same arithmetic every run on a given CPU, and fair on a shared machine.
/// Progress goes to the console as it happens and to <c>out/train-{recipe}.log</c>.
/// </summary>
[Explicit("trains for minutes and rewrites data/weights; run by name to reproduce the committed weights")]
public class TrainCommittedWeights
{
    [Test] public void Standard() => Train("standard");
    [Test] public void Robust() => Train("robust");

    static void Train(string recipe)
    {
        string logPath = Path.Combine(ReproPaths.RepositoryRoot(), "out", $"train-{recipe}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        using var file = new StreamWriter(logPath) { AutoFlush = true };
        using var log = new TeeWriter(file, TestContext.Progress);
        string command = $"dotnet test tests/Claims -c Release --filter \"FullyQualifiedName~TrainCommittedWeights.{char.ToUpperInvariant(recipe[0])}{recipe[1..]}\"";
        TorchSharp.torch.set_num_threads(1);
        Assert.That(TrainCommand.Run(recipe, commit: true, ReproPaths.Resolve(), log, command), Is.EqualTo(0));
    }

    sealed class TeeWriter(TextWriter a, TextWriter b) : TextWriter
    {
        public override System.Text.Encoding Encoding => a.Encoding;
        public override void Write(char value) { a.Write(value); b.Write(value); }
        public override void Write(string? value) { a.Write(value); b.Write(value); }
        public override void WriteLine(string? value) { a.WriteLine(value); b.WriteLine(value); }
        public override void Flush() { a.Flush(); b.Flush(); }
    }
}
