using Repro.Tests.Unit.Support;
using Repro.Training;

namespace Repro.Tests.Unit.Training;

/// <summary>The embedded CIFAR weights, written to a cache folder: a copy there is trusted only when it is byte-identical to the embedded one.</summary>
public class CommittedWeightsTests
{
    [Test]
    public void ADamagedOrAlteredCachedCopyIsReplacedByTheEmbeddedBytes()
    {
        string folder = TestData.TempFolder();
        CommittedWeights.Write(folder);
        string weights = Path.Combine(folder, "smallresnet-robust.pt");
        Assert.That(CommittedWeights.Names, Does.Contain("smallresnet-robust.pt").And.Contain("smallresnet-robust.pt.sha256"));
        byte[] embedded = File.ReadAllBytes(weights);

        // Same length, one byte changed, its .sha256 rewritten to match: what a second user of a shared cache could leave.
        byte[] altered = (byte[])embedded.Clone();
        altered[altered.Length / 2] ^= 0x5a;
        File.WriteAllBytes(weights, altered);
        File.WriteAllText(weights + ".sha256", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(altered)));

        CommittedWeights.Write(folder);

        Assert.That(File.ReadAllBytes(weights), Is.EqualTo(embedded));
        Assert.That(File.ReadAllText(weights + ".sha256").Trim(), Does.StartWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(embedded))));
        Assert.That(Directory.GetFiles(folder, "*.tmp"), Is.Empty);
    }
}
