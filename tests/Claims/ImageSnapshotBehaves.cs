using NUnit.Framework.Internal;
using Repro.Data;
using Repro.Tests.Claims.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Claims;

/// <summary>The snapshot assertion itself: a missing snapshot fails (never created silently), small differences pass, real ones fail with a received file.</summary>
public class ImageSnapshotBehaves
{
    static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"repro-snapshot-tests-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static bool Fails(Action action)
    {
        using (new TestExecutionContext.IsolatedContext())
        {
            try { action(); return false; }
            catch (AssertionException) { return true; }
        }
    }

    [Test]
    public void AMissingSnapshotFailsAndWritesOnlyTheReceivedFile()
    {
        using var _ = NewDisposeScope();
        string folder = TempFolder();
        var image = rand(3, 8, 8);
        Assert.That(Fails(() => ImageSnapshot.Match("new", image, folder)), Is.True);
        Assert.That(File.Exists(Path.Combine(folder, "new.received.png")), Is.True);
        Assert.That(File.Exists(Path.Combine(folder, "new.png")), Is.False, "never approved silently");
    }

    [Test]
    public void WithinTheToleranceItPassesBeyondItFailsWithAReceivedFile()
    {
        using var _ = NewDisposeScope();
        string folder = TempFolder();
        manual_seed(3);
        var image = rand(3, 16, 16).mul(0.8).add(0.1);
        ImageFile.SavePng(image, Path.Combine(folder, "map.png"));
        var slightly = image + (rand(3, 16, 16) - 0.5) * (2.0 / 255);
        Assert.That(Fails(() => ImageSnapshot.Match("map", slightly, folder)), Is.False, "1/255 noise passes");
        Assert.That(File.Exists(Path.Combine(folder, "map.received.png")), Is.False);

        var changed = image.clone();
        changed[0, 0, 0] = image[0, 0, 0].item<float>() > 0.5f ? 0.0f : 1.0f;
        Assert.That(Fails(() => ImageSnapshot.Match("map", changed, folder)), Is.True, "one pixel off by more than 32/255 fails");
        Assert.That(File.Exists(Path.Combine(folder, "map.received.png")), Is.True);
    }
}
