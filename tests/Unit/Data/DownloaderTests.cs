using System.Security.Cryptography;
using System.Text;
using Repro.Data;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Data;

public class DownloaderTests
{
    static readonly byte[] Content = Encoding.ASCII.GetBytes("pretend these are weights");
    static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    static Downloader Serving(byte[] bytes) => new((_, _) => Task.FromResult<Stream>(new MemoryStream(bytes)));

    [Test]
    public async Task AVerifiedDownloadIsRenamedIntoPlace()
    {
        string root = TestData.TempFolder();
        var file = new VerifiedFile("test weights", "https://example.invalid/w-1234.pth", "w.pth", DigestKind.Sha256, Sha256(Content));

        string path = await Serving(Content).EnsureAsync(file, root);

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Content));
        Assert.That(Directory.GetFiles(root), Is.EqualTo(new[] { path }), "no temporary file left behind");
    }

    [Test]
    public void AMismatchedDownloadLeavesNothingBehind()
    {
        string root = TestData.TempFolder();
        var file = new VerifiedFile("test weights", "https://example.invalid/w.pth", "w.pth", DigestKind.Sha256Prefix, "deadbeef");

        var error = Assert.ThrowsAsync<ReproInputException>(() => Serving(Content).EnsureAsync(file, root));

        Assert.That(error!.Message, Does.Contain("checksum"));
        Assert.That(Directory.GetFiles(root), Is.Empty);
    }

    [Test]
    public void ABrokenTransferLeavesNothingBehindAndSaysWhereToPlaceTheFile()
    {
        string root = TestData.TempFolder();
        var file = KnownFiles.ResNet18;
        var failing = new Downloader((_, _) => Task.FromResult<Stream>(new FailingStream()));

        var error = Assert.ThrowsAsync<ReproInputException>(() => failing.EnsureAsync(file, root));

        Assert.That(error!.Message, Does.Contain(file.PathUnder(root)).And.Contain(file.Url));
        Assert.That(Directory.GetFiles(root), Is.Empty);
    }

    [Test]
    public void TorchvisionPrefixAndCifarMd5AreChecked()
    {
        var prefix = new VerifiedFile("x", "u", "x", DigestKind.Sha256Prefix, Sha256(Content)[..8]);
        var md5 = new VerifiedFile("x", "u", "x", DigestKind.Md5, Convert.ToHexStringLower(MD5.HashData(Content)));
        Assert.That(prefix.Matches(new MemoryStream(Content)), Is.True);
        Assert.That(md5.Matches(new MemoryStream(Content)), Is.True);
        Assert.That(md5.Matches(new MemoryStream(Content[1..])), Is.False);
    }

    [Test]
    public void AnExistingFileWithTheWrongChecksumIsNotSilentlyUsed()
    {
        string root = TestData.TempFolder();
        var file = new VerifiedFile("x", "https://example.invalid/x", "x.bin", DigestKind.Sha256, Sha256(Content));
        File.WriteAllText(file.PathUnder(root), "tampered");
        var error = Assert.ThrowsAsync<ReproInputException>(() => Serving(Content).EnsureAsync(file, root));
        Assert.That(error!.Message, Does.Contain(file.PathUnder(root)));
    }

    sealed class FailingStream : MemoryStream
    {
        public FailingStream() : base(new byte[1024]) { }
        public override Task CopyToAsync(Stream destination, int bufferSize, CancellationToken ct) =>
            Task.FromException(new IOException("connection reset"));
    }
}
