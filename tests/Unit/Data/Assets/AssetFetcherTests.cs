using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Repro.Data;
using Repro.Data.Assets;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Data.Assets;

/// <summary>
/// Real downloads from an HTTP server on 127.0.0.1 inside the test process, through the mirror
/// setting (origin host and path appended to the mirror's base URL): a verified fetch, and every
/// way a transfer goes wrong — checksum mismatch, truncated body, 404, 500, stalled server — each
/// leaving nothing under the root and naming the asset and the URL in one line. Retries and time
/// limits are set small so that the request counts and times are bounded.
/// </summary>
[NonParallelizable]
public class AssetFetcherTests
{
    const string Origin = "https://example.org/files/weights.bin";
    static readonly byte[] Content = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("pretend these are weights. ", 4000)));
    static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>MD5 as a publisher gives it (CIFAR-10's page): the same incremental hash the product checks with.</summary>
    static string Md5(byte[] b)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData(b);
        return Convert.ToHexStringLower(md5.GetHashAndReset());
    }

    LoopbackHttpServer server = null!;

    [SetUp] public void Start() => server = new LoopbackHttpServer();
    [TearDown] public void Stop() => server.Dispose();

    /// <summary>The path the mirror serves for <see cref="Origin"/>: /mirror/{host}{path}.</summary>
    const string MirrorPath = "/mirror/example.org/files/weights.bin";

    AssetFetcher Fetcher(int retries = 0, double stallSeconds = 5, StringWriter? log = null) => new(new AssetFetchOptions
    {
        Mirror = server.BaseUrl + "/mirror/",
        ResponseTimeout = TimeSpan.FromSeconds(stallSeconds),
        StallTimeout = TimeSpan.FromSeconds(stallSeconds),
        Retries = retries,
        RetryDelay = TimeSpan.Zero,
    }, log ?? new StringWriter());

    static Asset Weights(Checksum checksum, string url = Origin) => new()
    {
        Name = "test-weights",
        Title = "test weights",
        Url = url,
        FileName = "weights.bin",
        Bytes = Content.Length,
        Checksum = checksum,
        Licence = "test",
        Root = AssetRoot.Models,
        Layout = new SingleFileLayout("weights.bin"),
        UsedBy = "tests",
    };

    static string[] Everything(string root) =>
        Directory.Exists(root) ? Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories) : [];

    static void AssertOneLineNaming(string message, string asset, string url)
    {
        Assert.That(message, Does.Contain(asset).And.Contain(url));
        Assert.That(message, Does.Not.Contain('\n'), "one line");
    }

    [Test]
    public void AVerifiedFetchThroughTheMirrorLandsAtomicallyWithItsRecord()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(Content));
        string root = TestData.TempFolder();
        var log = new StringWriter();
        using var fetcher = Fetcher(log: log);

        string path = fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root);

        Assert.That(path, Is.EqualTo(Path.Combine(root, "weights.bin")));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Content));
        Assert.That(Everything(root).Select(p => Path.GetRelativePath(root, p)),
            Is.EquivalentTo(new[] { "weights.bin", ".repro-assets", Path.Combine(".repro-assets", "test-weights.json") }), "no staging folder left");
        var record = AssetCache.ReadRecord(Weights(Checksum.TrustOnFirstUse), root)!;
        Assert.That(record.Sha256, Is.EqualTo(Sha256(Content)));
        Assert.That(record.Source, Is.EqualTo(server.BaseUrl + MirrorPath));
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(1));
        Assert.That(log.ToString(), Does.Contain("test-weights").And.Contain("verified"));

        Assert.That(fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root), Is.EqualTo(path), "present: not fetched again");
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(1));
    }

    [Test]
    public void AMirrorOnThisMachineIsReachedDirectlyWhateverProxyIsSet()
    {
        // As in a sandbox or a corporate network: http_proxy set (here to a closed port), no no_proxy entry.
        var deadProxy = new System.Net.WebProxy("http://127.0.0.1:9");
        var options = new AssetFetchOptions { Mirror = server.BaseUrl + "/mirror/", Retries = 0, ResponseTimeout = TimeSpan.FromSeconds(5), StallTimeout = TimeSpan.FromSeconds(5) };
        var handler = AssetFetcher.DefaultHandler(options, deadProxy);
        Assert.That(handler.Proxy!.GetProxy(new Uri("https://download.pytorch.org/models/x.pth")), Is.EqualTo(new Uri("http://127.0.0.1:9")), "other hosts keep the proxy");
        Assert.That(handler.Proxy.IsBypassed(new Uri("http://localhost:8000/")), Is.True);
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(Content));
        string root = TestData.TempFolder();
        using var fetcher = new AssetFetcher(options, new StringWriter(), handler);

        string path = fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root);

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Content));
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(1));
    }

    [Test]
    public void AChecksumMismatchKeepsNothing()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(Content));
        string root = TestData.TempFolder();
        using var fetcher = Fetcher(retries: 2);

        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Weights(Checksum.Sha256Prefix("deadbeef")), root));

        AssertOneLineNaming(error!.Message, "test-weights", server.BaseUrl + MirrorPath);
        Assert.That(error.Message, Does.Contain("deadbeef").And.Contain(Sha256(Content)));
        Assert.That(Everything(root), Is.Empty);
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(1), "a wrong file is not fetched again");
    }

    [Test]
    public void ATruncatedBodyIsRetriedThenKeepsNothing()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.Truncate(Content, Content.Length / 3));
        string root = TestData.TempFolder();
        using var fetcher = Fetcher(retries: 1);

        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root));

        AssertOneLineNaming(error!.Message, "test-weights", server.BaseUrl + MirrorPath);
        Assert.That(Everything(root), Is.Empty);
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(2), "one retry");
    }

    [Test]
    public void NotFoundIsNotRetried()
    {
        string root = TestData.TempFolder();
        using var fetcher = Fetcher(retries: 3);

        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root));

        AssertOneLineNaming(error!.Message, "test-weights", server.BaseUrl + MirrorPath);
        Assert.That(error.Message, Does.Contain("404"));
        Assert.That(Everything(root), Is.Empty);
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(1));
    }

    [Test]
    public void AServerErrorIsRetriedABoundedNumberOfTimes()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.Status(500, "Internal Server Error"));
        string root = TestData.TempFolder();
        var log = new StringWriter();
        using var fetcher = Fetcher(retries: 2, log: log);

        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root));

        AssertOneLineNaming(error!.Message, "test-weights", server.BaseUrl + MirrorPath);
        Assert.That(error.Message, Does.Contain("500"));
        Assert.That(Everything(root), Is.Empty);
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(3), "the first attempt and two retries");
        Assert.That(log.ToString(), Does.Contain("retrying"));
    }

    [Test]
    public void AStalledTransferTimesOutAndKeepsNothing()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.StallBody(Content, 1000));
        string root = TestData.TempFolder();
        using var fetcher = Fetcher(retries: 1, stallSeconds: 0.5);
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root));

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "two stalls of 0.5 s each, not the default minute");
        AssertOneLineNaming(error!.Message, "test-weights", server.BaseUrl + MirrorPath);
        Assert.That(error.Message, Does.Contain("stalled"));
        Assert.That(Everything(root), Is.Empty);
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(2));
    }

    [Test]
    public void AServerThatNeverAnswersTimesOut()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.StallHeaders());
        string root = TestData.TempFolder();
        using var fetcher = Fetcher(retries: 0, stallSeconds: 0.5);
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root));

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
        AssertOneLineNaming(error!.Message, "test-weights", server.BaseUrl + MirrorPath);
        Assert.That(error.Message, Does.Contain("no answer"));
        Assert.That(Everything(root), Is.Empty);
        Assert.That(server.Requests(MirrorPath), Is.EqualTo(1));
    }

    [Test]
    public void WithoutAPublishedChecksumTheFirstDownloadIsRecordedAndAChangedFileRefused()
    {
        string root = TestData.TempFolder();
        var asset = Weights(Checksum.TrustOnFirstUse);
        var log = new StringWriter();
        using var fetcher = Fetcher(log: log);
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(Content));

        string path = fetcher.Fetch(asset, root);
        Assert.That(log.ToString(), Does.Contain(Sha256(Content)).And.Contain("recorded on first download"), "the sha256 is printed");
        Assert.That(AssetCache.Status(asset, new ReproPaths(root, root)).Verification, Does.Contain(Sha256(Content)));

        File.Delete(path);
        byte[] other = [.. Content, (byte)'!'];
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(other));
        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(asset, root));
        Assert.That(error!.Message, Does.Contain(Sha256(Content)).And.Contain(Sha256(other)).And.Contain("first download"));
        Assert.That(File.Exists(path), Is.False);
        Assert.That(AssetCache.ReadRecord(asset, root)!.Sha256, Is.EqualTo(Sha256(Content)), "the first record is kept");
    }

    [Test]
    public void ATarGzFolderIsUnpackedIntoPlace()
    {
        byte[] archive = TarGz(("cifar-10-batches-bin/test_batch.bin", [1, 2, 3]), ("cifar-10-batches-bin/readme.html", [4]));
        server.Route("/mirror/example.org/cifar.tar.gz", new LoopbackHttpServer.Serve(archive));
        var asset = Weights(Checksum.Md5(Md5(archive)), "https://example.org/cifar.tar.gz") with
        {
            FileName = "cifar.tar.gz",
            Root = AssetRoot.Data,
            Layout = new TarGzFolderLayout("cifar-10-batches-bin", "test_batch.bin"),
        };
        string root = TestData.TempFolder();
        using var fetcher = Fetcher();

        string path = fetcher.Fetch(asset, root);

        Assert.That(path, Is.EqualTo(Path.Combine(root, "cifar-10-batches-bin")));
        Assert.That(File.ReadAllBytes(Path.Combine(path, "test_batch.bin")), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(Directory.GetFileSystemEntries(root).Select(Path.GetFileName), Is.EquivalentTo(new[] { "cifar-10-batches-bin", ".repro-assets" }), "the archive is not kept");
    }

    [Test]
    public void OnlyAKnownTfliteMemberIsKeptFromItsArchive()
    {
        byte[] model = Encoding.ASCII.GetBytes("TFL3 pretend model");
        byte[] archive = TarGz(("./model.ckpt.data", [9, 9]), ("./model.tflite", model));
        server.Route("/mirror/example.org/model.tgz", new LoopbackHttpServer.Serve(archive));
        Asset Member(string knownSha) => Weights(Checksum.TrustOnFirstUse, "https://example.org/model.tgz") with
        {
            FileName = "model.tgz",
            Layout = new TarGzMemberLayout("model.tflite", Path.Combine("model", "model.tflite"), new Dictionary<string, string> { [knownSha] = "test" }),
        };
        using var fetcher = Fetcher();

        string root = TestData.TempFolder();
        string path = fetcher.Fetch(Member(Sha256(model)), root);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(model));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1), "only the .tflite is kept");

        string other = TestData.TempFolder();
        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Member(new string('0', 64)), other));
        Assert.That(error!.Message, Does.Contain(Sha256(model)));
        Assert.That(Everything(other), Is.Empty);
    }

    [Test]
    public void AnImageNetSubsetLandsInTheStandardLayoutAndItsContentIsVerified()
    {
        byte[] tench = [1, 2, 3], goldfish = [4, 5];
        byte[] zip = Zip(("acuity-x/ILSVRC2012_VAL_SET/dataset.txt", Encoding.ASCII.GetBytes("./data/a.JPEG, 0\n./data/b.JPEG, 1\n")),
                         ("acuity-x/ILSVRC2012_VAL_SET/data/a.JPEG", tench), ("acuity-x/ILSVRC2012_VAL_SET/data/b.JPEG", goldfish));
        server.Route("/mirror/example.org/val.zip", new LoopbackHttpServer.Serve(zip));
        string expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"n01440764/a.JPEG {Sha256(tench)}\nn01443537/b.JPEG {Sha256(goldfish)}\n")));
        Asset Subset(string digest) => Weights(Checksum.TrustOnFirstUse, "https://example.org/val.zip") with
        {
            FileName = "val.zip",
            Root = AssetRoot.Data,
            Layout = new ImageNetSubsetLayout("ILSVRC2012_VAL_SET/dataset.txt", digest, 2),
        };
        using var fetcher = Fetcher();

        string root = TestData.TempFolder();
        string val = fetcher.Fetch(Subset(expected), root);
        Assert.That(val, Is.EqualTo(Path.Combine(root, "imagenet", "val")));
        Assert.That(File.ReadAllBytes(Path.Combine(val, "n01443537", "b.JPEG")), Is.EqualTo(goldfish), "label 1 is goldfish's wnid");
        Assert.That(ImageNetValidation.Open(root).Samples.Select(s => s.Label), Is.EqualTo(new[] { 0, 1 }));

        string other = TestData.TempFolder();
        var error = Assert.Throws<ReproEnvironmentException>(() => fetcher.Fetch(Subset(new string('a', 64)), other));
        Assert.That(error!.Message, Does.Contain("not the published ones"));
        Assert.That(Everything(other), Is.Empty);
    }

    [Test]
    public void AZipBundleLandsInItsFolderWhereverTheMarkerIs()
    {
        byte[] zip = Zip(("tutorial/models/RestrictedImageNet.pt", [7]), ("tutorial/data/val/n01440764/x.JPEG", [8]));
        server.Route("/mirror/example.org/tutorial.zip", new LoopbackHttpServer.Serve(zip));
        var asset = Weights(Checksum.TrustOnFirstUse, "https://example.org/tutorial.zip") with
        {
            FileName = "tutorial.zip",
            Layout = new ZipFolderLayout("tutorial", "RestrictedImageNet.pt"),
        };
        string root = TestData.TempFolder();
        using var fetcher = Fetcher();

        Assert.That(fetcher.Fetch(asset, root), Is.EqualTo(Path.Combine(root, "tutorial", "models", "RestrictedImageNet.pt")));
    }

    [Test]
    public void FetchingOnFirstUseHappensOnlyWhenSwitchedOn()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(Content));
        var asset = Weights(Checksum.Sha256(Sha256(Content)));
        string root = TestData.TempFolder();
        var (previous, offline) = (AssetStore.OnDemand, AssetStore.Offline);
        try
        {
            AssetStore.OnDemand = null;
            AssetStore.Offline = true;
            var missing = Assert.Throws<MissingInputsException>(() => AssetStore.Require(asset, root));
            Assert.That(missing!.Reason, Does.Contain(root).And.Contain("offline"));
            Assert.That(missing.Fix, Does.Contain("repro fetch test-weights").And.Contain(Origin));
            Assert.That(server.Requests(MirrorPath), Is.EqualTo(0), "offline: no request");

            using var fetcher = Fetcher();
            AssetStore.OnDemand = fetcher;
            AssetStore.Offline = false;
            Assert.That(File.ReadAllBytes(AssetStore.Require(asset, root)), Is.EqualTo(Content));
            Assert.That(server.Requests(MirrorPath), Is.EqualTo(1));
        }
        finally
        {
            (AssetStore.OnDemand, AssetStore.Offline) = (previous, offline);
        }
    }

    [Test]
    public void APlacedPublisherFileIsVerifiedAndInstalledWithoutNetwork()
    {
        byte[] archive = TarGz(("cifar-10-batches-bin/test_batch.bin", [1, 2, 3]));
        var asset = Weights(Checksum.Md5(Md5(archive)), "https://example.org/cifar.tar.gz") with
        {
            FileName = "cifar.tar.gz",
            Root = AssetRoot.Data,
            Layout = new TarGzFolderLayout("cifar-10-batches-bin", "test_batch.bin"),
        };
        string root = TestData.TempFolder();
        File.WriteAllBytes(Path.Combine(root, "cifar.tar.gz"), archive);

        Assert.That(AssetStore.Require(asset, root), Is.EqualTo(Path.Combine(root, "cifar-10-batches-bin")));
        Assert.That(File.Exists(Path.Combine(root, "cifar.tar.gz")), Is.True, "the user's file is kept");

        string wrong = TestData.TempFolder();
        File.WriteAllBytes(Path.Combine(wrong, "cifar.tar.gz"), [.. archive, 0]);
        var error = Assert.Throws<ReproInputException>(() => AssetStore.Require(asset, wrong));
        Assert.That(error!.Message, Does.Contain(Path.Combine(wrong, "cifar.tar.gz")).And.Contain("MD5"));
        Assert.That(Directory.GetFileSystemEntries(wrong).Select(Path.GetFileName), Is.EqualTo(new[] { "cifar.tar.gz" }));
    }

    [Test]
    public void TheMirrorMapsOriginHostAndPath()
    {
        var options = new AssetFetchOptions { Mirror = "http://mirror.lab:8080/repro/" };
        Assert.That(options.UrlFor("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"),
            Is.EqualTo("http://mirror.lab:8080/repro/www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"));
        Assert.That(new AssetFetchOptions().UrlFor(Origin), Is.EqualTo(Origin), "no mirror: the origin");
        Assert.Throws<ReproInputException>(() => new AssetFetchOptions { Mirror = "mirror.lab" }.UrlFor(Origin));
    }

    /// <summary>A fetch cancelled in the middle of its transfer (as Ctrl-C does in the command) removes its partial file.</summary>
    [Test]
    public void AFetchStoppedMidTransferLeavesNothing()
    {
        server.Route(MirrorPath, new LoopbackHttpServer.StallBody(Content, 1000));
        string root = TestData.TempFolder();
        using var fetcher = Fetcher(retries: 0, stallSeconds: 30);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        Assert.Catch<Exception>(() => fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root, stop.Token));
        Assert.That(Everything(root), Is.Empty, "no .fetch-*/...part left");
    }

    /// <summary>A process id that is not running: a child that has exited.</summary>
    static int ExitedProcessId()
    {
        using var child = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        child.WaitForExit();
        return child.Id;
    }

    /// <summary>
    /// What killed fetches left (SIGKILL cannot be caught) is listed by fetch --list and removed by the next fetch,
    /// whichever asset it was for; the staging folder of a fetch still running (here: PID 1, and this process) is kept.
    /// </summary>
    [Test]
    public void WhatKilledFetchesLeftIsListedAndRemovedByTheNextFetch()
    {
        if (!OperatingSystem.IsLinux()) TestData.NotRun("process ids read from /proc");
        server.Route(MirrorPath, new LoopbackHttpServer.Serve(Content));
        string root = TestData.TempFolder();
        string Staging(string asset, string pid)
        {
            string folder = Path.Combine(root, $".fetch-{asset}-{pid}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, "x.part"), new byte[1000]);
            return folder;
        }
        string dead = Staging("cifar10", $"{ExitedProcessId()}");
        string legacy = Path.Combine(root, $".fetch-resnet18-{Guid.NewGuid():N}");
        Directory.CreateDirectory(legacy);
        Directory.SetLastWriteTimeUtc(legacy, DateTime.UtcNow.AddHours(-2));
        string running = Staging("imagenet-val", "1");
        string mine = Staging("test-weights", $"{Environment.ProcessId}");
        Assert.That(AssetInstaller.Leftovers(root), Is.EquivalentTo(new[] { dead, legacy }));

        var output = new StringWriter();
        var (previous, code) = (Console.Out, 0);
        Console.SetOut(output);
        try { code = Repro.Cli.ReproCommand.Run(["fetch", "--list", "--data", root, "--models", root]); }
        finally { Console.SetOut(previous); }
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output.ToString(), Does.Contain(dead).And.Contain(legacy).And.Contain("left by a fetch that was stopped").And.Not.Contain(running));

        using var fetcher = Fetcher();
        fetcher.Fetch(Weights(Checksum.Sha256(Sha256(Content))), root);
        Assert.That(Directory.Exists(dead) || Directory.Exists(legacy), Is.False, "removed");
        Assert.That(Directory.Exists(running) && Directory.Exists(mine), Is.True, "a running fetch's folder is kept");
    }

    /// <summary>repro fetch stopped by Ctrl-C or SIGTERM mid-transfer (a child process on a stalled server) removes its partial download.</summary>
    [TestCase("INT")]
    [TestCase("TERM")]
    public void AFetchCommandStoppedBySignalLeavesNothing(string signal)
    {
        if (!OperatingSystem.IsLinux()) TestData.NotRun("signals sent with kill");
        ReproProcess.RequireSignalReachesChildren(signal);
        var cifar = AssetCatalogue.Cifar10;
        var origin = new Uri(cifar.Url);
        server.Route("/mirror/" + origin.Host + origin.AbsolutePath, new LoopbackHttpServer.StallBody(Content, Content.Length - 100)); // past the first 64 KB written
        string root = TestData.TempFolder();
        var start = ReproProcess.StartInfo(new Dictionary<string, string?>
        {
            [AssetFetchOptions.MirrorVariable] = server.BaseUrl + "/mirror/",
            [AssetFetchOptions.OfflineVariable] = null,
        }, "fetch", "cifar10", "--data", root, "--models", root);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        static bool Writing(string root) => Directory.Exists(root) && Directory.GetFiles(root, "*.part", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length >= 1 << 16);
        while (!Writing(root) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(50);
        if (process.HasExited) Assert.Fail($"the fetch ended before it could be stopped: {error.Result}");
        Assert.That(Writing(root), Is.True, "the fetch is writing its .part file");
        using (var kill = Process.Start("kill", $"-{signal} {process.Id}")) kill.WaitForExit();
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the signal ends the fetch");
        TestContext.Out.WriteLine($"exit {process.ExitCode} after SIG{signal}; stderr: {error.Result.Trim()}");
        Assert.That(Everything(root), Is.Empty, "no .fetch-*/...part left");
    }

    static byte[] TarGz(params (string Name, byte[] Data)[] files)
    {
        var memory = new MemoryStream();
        using (var gz = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
            foreach (var (name, data) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        return memory.ToArray();
    }

    static byte[] Zip(params (string Name, byte[] Data)[] files)
    {
        var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in files)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(data);
            }
        return memory.ToArray();
    }
}
