using Repro.Cli;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// The one command policy (<see cref="CommandPolicy"/>) on its own, without a model: the bounds that
/// protect the machine (threads, batch sizes; tested on the bound, never by spawning threads or
/// allocating), numbers float32 can hold, and the output-folder and image-folder rules, each failure
/// naming its option.
/// </summary>
public class CommandPolicyTests
{
    [TestCase(0, 4)]
    [TestCase(1, 4)]
    [TestCase(4, 4)]
    public void ThreadsUpToTheCoresAreAccepted(int requested, int cores) =>
        Assert.That(CommandPolicy.Threads(requested, cores), Is.EqualTo(requested));

    [TestCase(5, 4)]
    [TestCase(100000, 16)]
    [TestCase(-1, 4)]
    [TestCase(int.MaxValue, 2)]
    public void ThreadsBeyondTheCoresAreRefused(int requested, int cores)
    {
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.Threads(requested, cores))!;
        Assert.That(e.Message, Does.Contain("--threads").And.Contain($"{cores}").And.Contain($"{requested}"));
    }

    [Test]
    public void TheThreadBoundIsThisMachinesCores() => Assert.That(CommandPolicy.Cores, Is.EqualTo(Environment.ProcessorCount).And.GreaterThan(0));

    [TestCase("OMP_NUM_THREADS", "100000")]
    [TestCase("OMP_NUM_THREADS", "5,2")]
    [TestCase("MKL_NUM_THREADS", "0")]
    [TestCase("OMP_NUM_THREADS", "many")]
    public void ThreadCountsFromTheEnvironmentAreBoundedToo(string name, string value)
    {
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.ThreadEnvironment(v => v == name ? value : null, 4))!;
        Assert.That(e.Message, Does.StartWith($"{name}={value}").And.Contain("4"));
    }

    [Test]
    public void ThreadCountsFromTheEnvironmentUpToTheCoresAreAccepted()
    {
        CommandPolicy.ThreadEnvironment(v => v == "OMP_NUM_THREADS" ? "4,1" : v == "MKL_NUM_THREADS" ? "1" : null, 4);
        CommandPolicy.ThreadEnvironment(_ => null, 1);
        CommandPolicy.ThreadEnvironment(_ => " ", 1);
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(int.MinValue)]
    public void ABatchBelowOneIsRefusedNamingTheOption(int batch)
    {
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.Batch("--batch", batch, 3 * 224 * 224, memoryBytes: 1L << 34))!;
        Assert.That(e.Message, Does.StartWith("--batch must be >= 1").And.Contain($"{batch}"));
    }

    [Test]
    public void ABatchWhoseImagesAloneExceedTheMemoryIsRefused()
    {
        long memory = 1L << 30; // 1 GiB
        long perImage = 3 * 224 * 224; // values: 602,112 bytes as float32
        Assert.That(CommandPolicy.Batch("--batch", 1783, perImage, memory), Is.EqualTo(1783), "1783 images: 1.0 GiB, just under");
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.Batch("--batch", 1784, perImage, memory))!;
        Assert.That(e.Message, Does.Contain("--batch 1784").And.Contain("GiB"));
    }

    [Test]
    public void TheMemoryBoundIsPositive() => Assert.That(CommandPolicy.MemoryBytes(), Is.GreaterThan(0));

    [TestCase("--steps", 0, 1, 10)]
    [TestCase("--steps", 11, 1, 10)]
    [TestCase("--leak-steps", -1, 0, 10)]
    public void CountsOutsideTheirRangeAreRefused(string option, int value, int min, int max)
    {
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.Count(option, value, min, max))!;
        Assert.That(e.Message, Does.StartWith(option).And.Contain($"{value}"));
    }

    [TestCase("1e39", "too large for the model's Float32")]
    [TestCase("1e-300", "too small for the model's Float32")]
    [TestCase("1e400", "overflows")]
    [TestCase("NaN", "must be a number")]
    [TestCase("inf", "finite")]
    [TestCase("-1", "> 0")]
    [TestCase("0", "> 0")]
    [TestCase("", "must be a number")]
    public void NumbersFloat32CannotHoldAreRefused(string text, string why)
    {
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.Float32("--sigma", text))!;
        Assert.That(e.Message, Does.Contain("--sigma").And.Contain(why));
    }

    [Test]
    public void ZeroAndInfinityOnlyWhereAllowed()
    {
        Assert.That(CommandPolicy.Float32("--sigma", "0", allowZero: true), Is.EqualTo(0));
        Assert.That(CommandPolicy.Float32("--eps", "inf", allowInfinity: true), Is.EqualTo(double.PositiveInfinity));
        Assert.That(CommandPolicy.Float32("--eps", "3.4e38"), Is.EqualTo(3.4e38), "float32's largest is 3.4028e38");
    }

    [Test]
    public void AListIsCheckedValueByValue()
    {
        Assert.That(CommandPolicy.Float32List("--eps", "0.25, 1,2", "0.5,1"), Is.EqualTo(new[] { 0.25, 1, 2 }));
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.Float32List("--eps", "1,100,1e39", "0.5,1"))!;
        Assert.That(e.Message, Does.StartWith("--eps").And.Contain("'1e39'").And.Contain("too large"));
        Assert.That(Assert.Throws<ReproInputException>(() => CommandPolicy.Float32List("--eps", " , ", "0.5,1"))!.Message, Does.Contain("no value"));
    }

    [TestCase("/")]
    [TestCase("/proc/x")]
    [TestCase("/proc")]
    [TestCase("/sys/kernel/out")]
    [TestCase("/dev/shm/out")]
    [TestCase("/etc")]
    [TestCase("/etc/repro")]
    [TestCase("/usr")]
    [TestCase("/usr/lib/out")]
    [TestCase("/home")]
    [TestCase("/tmp")]
    [TestCase("/boot/")]
    public void SystemFoldersAreNoPlaceForResults(string folder)
    {
        if (OperatingSystem.IsWindows()) TestData.NotRun("POSIX paths");
        Assert.That(CommandPolicy.SystemFolder(Path.GetFullPath(folder)), Is.Not.Null);
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(folder, overwrite: true, _ => true))!;
        Assert.That(e.Message, Does.StartWith($"--out {folder} is").And.Contain("system folder").Or.Contain("root folder"));
    }

    [TestCase("/tmp/x/out")]
    [TestCase("/home/someone/out")]
    [TestCase("/usr/local/src/out")]
    [TestCase("/var/tmp/out")]
    [TestCase("/processes")]
    public void UsersFoldersAreNotSystemFolders(string folder)
    {
        if (OperatingSystem.IsWindows()) TestData.NotRun("POSIX paths");
        Assert.That(CommandPolicy.SystemFolder(folder), Is.Null);
    }

    [TestCase("")]
    [TestCase("  ")]
    [TestCase(null)]
    public void AnEmptyOutIsBadInputNotAnInternalError(string? text)
    {
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(text, overwrite: false, _ => false))!;
        Assert.That(e.Message, Does.Contain("--out").And.Contain("empty"));
    }

    [Test]
    public void AnOutThatIsAFileOrBelowAFileIsNamed()
    {
        string folder = TestData.TempFolder();
        string file = Path.Combine(folder, "results");
        File.WriteAllText(file, "x");
        Assert.That(Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(file, false, _ => false))!.Message, Does.Contain("is a file"));
        Assert.That(Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(Path.Combine(file, "sub"), false, _ => false))!.Message,
            Does.Contain($"{file} is a file"));
    }

    [Test]
    public void AnOutThatIsInsideOrHoldsAnInputFolderIsRefused()
    {
        string images = Path.Combine(TestData.TempFolder(), "photos");
        Directory.CreateDirectory(images);
        (string, string?)[] inputs = [("--images", images)];
        foreach (var (output, word) in new[] { (images, "is the --images folder"), (images + "/", "is the --images folder"), (Path.Combine(images, "out"), "inside the --images folder"), (Path.GetDirectoryName(images)!, "holds the --images folder") })
        {
            var e = Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(output, true, _ => true, inputs))!;
            Assert.That(e.Message, Does.Contain(word), output);
        }
        Assert.That(CommandPolicy.OutputFolder(images + "-out", false, _ => false, inputs).Folder, Is.EqualTo(images + "-out"), "a sibling with the same prefix is another folder");
    }

    [Test]
    public void ANonEmptyOutIsRefusedAndOverwriteReplacesOnlyOwnResults()
    {
        string output = TestData.TempFolder();
        File.WriteAllText(Path.Combine(output, "robustness.tsv"), "old");
        var refused = Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(output, false, CommandPolicy.IsRobustnessResult))!;
        Assert.That(refused.Message, Does.Contain("not empty").And.Contain("robustness.tsv").And.Contain("--overwrite"));
        Assert.That(CommandPolicy.OutputFolder(output, true, CommandPolicy.IsRobustnessResult).Folder, Is.EqualTo(output));
        File.WriteAllText(Path.Combine(output, "thesis.docx"), "mine");
        var foreign = Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(output, true, CommandPolicy.IsRobustnessResult))!;
        Assert.That(foreign.Message, Does.Contain("thesis.docx").And.Contain("did not write"));
        Assert.That(File.Exists(Path.Combine(output, "thesis.docx")), Is.True, "never deleted");
    }

    [Test]
    public void WhatAKilledRunLeftIsNamedAndRemovedWithOverwrite()
    {
        string output = TestData.TempFolder();
        string staging = Path.Combine(output, ".staging-0123456789abcdef0123456789abcdef");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "half.png"), "x");
        var e = Assert.Throws<ReproInputException>(() => CommandPolicy.OutputFolder(output, false, _ => false))!;
        Assert.That(e.Message, Does.Contain(".staging-0123456789abcdef0123456789abcdef/").And.Contain("stopped").And.Contain("--overwrite"));
        var log = new StringWriter();
        CommandPolicy.OutputFolder(output, true, _ => false, log: log);
        Assert.That(Directory.Exists(staging), Is.False, "removed");
        Assert.That(log.ToString(), Does.Contain("removed .staging-0123456789abcdef0123456789abcdef/"));
    }

    [Test]
    public void AnImageFolderArgumentThatIsAFileSaysSo()
    {
        string folder = TestData.TempFolder();
        string file = Path.Combine(folder, "cat.jpg");
        File.WriteAllText(file, "x");
        Assert.That(Assert.Throws<ReproInputException>(() => CommandPolicy.ImageFolderArgument("--images", file))!.Message, Does.Contain("is a file, not a folder"));
        Assert.That(Assert.Throws<ReproInputException>(() => CommandPolicy.ImageFolderArgument("--images", Path.Combine(folder, "nope")))!.Message, Does.Contain("folder not found"));
        Assert.That(CommandPolicy.ImageFolderArgument("--images", folder), Is.EqualTo(folder));
    }

    [Test]
    public void MacOsMetadataOfAClassFolderIsNamed()
    {
        string folder = TestData.TempFolder();
        Directory.CreateDirectory(Path.Combine(folder, "cat"));
        Directory.CreateDirectory(Path.Combine(folder, "__MACOSX", "cat"));
        File.WriteAllText(Path.Combine(folder, "cat", "._0001.jpg"), "x");
        File.WriteAllText(Path.Combine(folder, "cat", "0001.jpg"), "x");
        var skipped = Repro.Data.ImageFolder.ClassFolderMetadata(folder).Select(s => s.Name);
        Assert.That(skipped, Is.EqualTo(new[] { "__MACOSX/", "cat/._0001.jpg" }));
    }
}
