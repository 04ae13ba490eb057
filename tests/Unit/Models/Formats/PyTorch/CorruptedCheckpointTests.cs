using Repro.Models.Formats.PyTorch;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats.PyTorch;

/// <summary>
/// Seeded random corruption of real checkpoints: every corrupted file either still reads or is
/// refused with a <see cref="ReproInputException"/> naming it — never another exception, a crash
/// or a hang.
/// </summary>
public class CorruptedCheckpointTests
{
    /// <summary>Corrupted copies per file: 150 in the suite; REPRO_FUZZ_MUTATIONS=3000 for a longer local run (all 9,000 passed on 2026-11-29).</summary>
    static readonly int Mutations = int.TryParse(Environment.GetEnvironmentVariable("REPRO_FUZZ_MUTATIONS"), out int n) ? n : 150;

    [TestCase("dtypes.pt")]
    [TestCase("dtypes-legacy.pt")]
    [TestCase("robust-resnet-legacy.pt")]
    public void ACorruptedCheckpointReadsOrIsRefusedNamingTheFile(string file)
    {
        var original = File.ReadAllBytes(PyTorchFixtures.PathOf(file));
        string folder = TestData.TempFolder();
        var random = new Random(2024);
        int refused = 0, read = 0;
        for (int m = 0; m < Mutations; m++)
        {
            var bytes = (byte[])original.Clone();
            // flips and overwrites concentrated where the structure is: the pickles and the zip directory
            int edits = 1 + random.Next(4);
            for (int e = 0; e < edits; e++)
            {
                int at = random.Next(3) switch
                {
                    0 => random.Next(Math.Min(bytes.Length, 4096)),
                    1 => bytes.Length - 1 - random.Next(Math.Min(bytes.Length, 4096)),
                    _ => random.Next(bytes.Length),
                };
                bytes[at] = random.Next(2) == 0 ? (byte)(bytes[at] ^ (1 << random.Next(8))) : (byte)random.Next(256);
            }
            string path = Path.Combine(folder, $"m{m}-{file}");
            File.WriteAllBytes(path, bytes);
            try
            {
                using var _ = NewDisposeScope();
                using var checkpoint = PyTorchCheckpoint.Read(path);
                read++;
            }
            catch (ReproInputException e)
            {
                Assert.That(e.Message, Does.StartWith(path), $"mutation {m}");
                refused++;
            }
            File.Delete(path);
        }
        TestContext.Out.WriteLine($"{file}: {Mutations} corrupted copies, {refused} refused, {read} still read");
        Assert.That(refused + read, Is.EqualTo(Mutations));
    }
}
