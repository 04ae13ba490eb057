using System.Diagnostics;
using Repro.Data;
using Repro.Tests.Unit.Models.Tflite;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Cli;

/// <summary>
/// A run stopped from outside (Ctrl-C, or the SIGTERM a CI timeout sends) leaves its output folder as it
/// was: no hidden staging folder that the next run would refuse to write beside.
/// </summary>
[NonParallelizable]
public class InterruptTests
{
    [TestCase("TERM")]
    [TestCase("INT")]
    public void AnAttackStoppedBySignalLeavesNoStagingFolderBehind(string signal)
    {
        ReproProcess.RequireSignalReachesChildren(signal);
        string model = MobileNetV2File.Require();
        string images = TestData.TempFolder();
        using (NewDisposeScope()) ImageFile.SavePng(rand(3, 240, 260, generator: new Generator(1)), Path.Combine(images, "noise.png"));
        string output = Path.Combine(TestData.TempFolder(), "out"); // not there before the run
        var start = ReproProcess.StartInfo(new Dictionary<string, string?>(), "attack", "--model", "mobilenet_v2",
            "--models", Path.GetDirectoryName(Path.GetDirectoryName(model))!, "--images", images, "--out", output, "--steps", "100000");
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();

        var clock = Stopwatch.StartNew();
        while (!(Directory.Exists(output) && Directory.GetDirectories(output, ".staging-*").Length > 0) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
            Thread.Sleep(50);
        if (process.HasExited) Assert.Fail($"the attack ended before it could be stopped: {error.Result}");
        Assert.That(Directory.GetDirectories(output, ".staging-*"), Has.Length.EqualTo(1), "the run is writing into its staging folder");
        Thread.Sleep(500); // well inside the attack
        using (var kill = Process.Start("kill", $"-{signal} {process.Id}")) kill.WaitForExit();
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the signal ends the run");
        TestContext.Out.WriteLine($"exit code {process.ExitCode} after SIG{signal}; stderr: {error.Result.Trim()}");

        Assert.That(process.ExitCode, Is.Not.EqualTo(0));
        Assert.That(Directory.Exists(output), Is.False, "the output folder the run created is gone with its staging folder");
    }
}
