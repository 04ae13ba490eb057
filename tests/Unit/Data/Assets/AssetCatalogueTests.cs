using System.Text.RegularExpressions;
using Repro.Data;
using Repro.Data.Assets;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Data.Assets;

public class AssetCatalogueTests
{
    [Test]
    public void EveryEntrySaysWhereFromHowBigHowVerifiedUnderWhichTermsAndWhereItLands()
    {
        Assert.That(AssetCatalogue.Names, Is.Unique);
        Assert.That(AssetCatalogue.Names, Is.EquivalentTo(new[] { "cifar10", "resnet18", "resnet50", "mobilenet_v2", "imagenet-val", "tutorial" }));
        foreach (var a in AssetCatalogue.All)
        {
            Assert.That(Uri.TryCreate(a.Url, UriKind.Absolute, out var url) && url.Scheme.StartsWith("http"), Is.True, a.Url);
            Assert.That(a.Licence, Is.Not.Empty, a.Name);
            Assert.That(a.Layout.Landing, Is.Not.Empty, a.Name);
            Assert.That(a.Layout.Description, Is.Not.Empty, a.Name);
            if (a.Checksum.IsKnown)
                Assert.That(a.Bytes, Is.GreaterThan(0), $"{a.Name}: a publisher's file of known size");
            else
                Assert.That(a.Notes, Does.Contain("first download"), $"{a.Name}: says that it is trusted on first use");
        }
        Assert.That(AssetCatalogue.Cifar10.Checksum.ToString(), Is.EqualTo("MD5 c32a1d4ab5d03f1284b67883e8d87530"));
        Assert.That(((TarGzMemberLayout)AssetCatalogue.MobileNetV2.Layout).KnownSha256.Keys,
            Does.Contain("7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776"), "the .tflite the claims were measured with");
    }

    /// <summary>Nothing outside Data/Assets knows a URL: every download goes through the catalogue.</summary>
    [Test]
    public void NoOtherSourceFileKnowsAUrl()
    {
        string src = Path.Combine(ReproPaths.RepositoryRoot(), "src", "Repro");
        var offenders = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => !Path.GetRelativePath(src, f).StartsWith(Path.Combine("Data", "Assets")))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"https?://"))
            .Select(f => Path.GetRelativePath(src, f)).ToList();
        Assert.That(offenders, Is.Empty);
    }

    [Test]
    public void AMissingAssetsFixIsTheExactCommandAndTheFileToPlace()
    {
        string root = TestData.TempFolder();
        var error = AssetStore.Missing([(AssetCatalogue.Cifar10, root)]);
        Assert.That(error.Fix, Does.Contain($"repro fetch cifar10 --data {root}"));
        Assert.That(error.Fix, Does.Contain("cifar-10-binary.tar.gz").And.Contain(AssetCatalogue.Cifar10.Url).And.Contain("162.2 MB"));
        Assert.That(error.Message, Does.Contain(root).And.Contain("To fix:"));

        var two = AssetStore.Missing([(AssetCatalogue.ResNet18, root), (AssetCatalogue.ImageNetValidation, root)]);
        Assert.That(two.Fix, Does.Contain($"repro fetch resnet18 imagenet-val --models {root} --data {root}"));
    }

    /// <summary>
    /// The content digest in the catalogue is the one of the offline mirror's 1,300 images (the same
    /// files as the publisher's repository at the pinned commit), computed by the code that checks a download.
    /// </summary>
    [Test]
    public void TheImageNetSubsetDigestMatchesTheImagesHere()
    {
        string val = TestData.Require(Path.Combine("imagenet", "val"));
        var layout = (ImageNetSubsetLayout)AssetCatalogue.ImageNetValidation.Layout;
        var (digest, files) = ImageNetSubsetLayout.TreeDigest(val);
        if (files != layout.Count)
            Repro.Tests.Unit.Support.TestData.NotRun($"{val} holds {files} images, not the published subset of {layout.Count}; nothing to compare. To fix: point REPRO_DATA at the published subset (repro fetch imagenet-val)");
        Assert.That(digest, Is.EqualTo(layout.ContentDigest));
    }

    [Test]
    public void TheCacheFollowsReproCacheThenXdg()
    {
        var saved = (Environment.GetEnvironmentVariable("REPRO_CACHE"), Environment.GetEnvironmentVariable("XDG_CACHE_HOME"),
                     Environment.GetEnvironmentVariable("REPRO_DATA"), Environment.GetEnvironmentVariable("REPRO_MODELS"));
        try
        {
            Environment.SetEnvironmentVariable("REPRO_DATA", null);
            Environment.SetEnvironmentVariable("REPRO_MODELS", null);
            Environment.SetEnvironmentVariable("REPRO_CACHE", null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/xdg");
            Assert.That(ReproPaths.CacheRoot(), Is.EqualTo("/xdg/repro"));
            Assert.That(ReproPaths.Resolve(), Is.EqualTo(new ReproPaths("/xdg/repro/data", "/xdg/repro/models")));
            Environment.SetEnvironmentVariable("REPRO_CACHE", "/lab/cache");
            Assert.That(ReproPaths.Resolve(), Is.EqualTo(new ReproPaths("/lab/cache/data", "/lab/cache/models")));
            Assert.That(ReproPaths.Resolve("/d", "/m"), Is.EqualTo(new ReproPaths("/d", "/m")), "options win");
        }
        finally
        {
            Environment.SetEnvironmentVariable("REPRO_CACHE", saved.Item1);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved.Item2);
            Environment.SetEnvironmentVariable("REPRO_DATA", saved.Item3);
            Environment.SetEnvironmentVariable("REPRO_MODELS", saved.Item4);
        }
    }

    [Test]
    public void WithoutAHomeFolderTheCacheIsStillTheUsersOwn()
    {
        var saved = (Environment.GetEnvironmentVariable("REPRO_CACHE"), Environment.GetEnvironmentVariable("XDG_CACHE_HOME"), Environment.GetEnvironmentVariable("HOME"));
        try
        {
            Environment.SetEnvironmentVariable("REPRO_CACHE", null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", null);
            Environment.SetEnvironmentVariable("HOME", "/nonexistent"); // Debian's nobody
            Assert.That(ReproPaths.CacheRoot(), Is.EqualTo(Path.Combine(Path.GetTempPath(), $"repro-cache-{Environment.UserName}")),
                "not a /tmp/.cache/repro that every homeless user would share");
        }
        finally
        {
            Environment.SetEnvironmentVariable("REPRO_CACHE", saved.Item1);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved.Item2);
            Environment.SetEnvironmentVariable("HOME", saved.Item3);
        }
    }
}
