using System.Diagnostics;
using System.Text.Json.Nodes;
using Repro.Data;
using Repro.Evaluation.Jobs;
using Repro.Models.Formats;
using Repro.Tests.Unit.Models.Formats;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Evaluation;

/// <summary>
/// <c>repro robustness</c> past one machine, each run a separate process: three shards merged give the
/// records (bit for bit, timings aside) and the table of the one-process run, on the committed CIFAR
/// model and on an ONNX file; a shard stopped by SIGTERM (exit 75, requeue me) or killed by SIGKILL
/// and then resumed gives the same records; <c>repro merge</c> refuses a missing, duplicated, foreign
/// or corrupted shard with one line and exit 2, writing nothing.
/// </summary>
[NonParallelizable]
public class ShardedRobustnessTests
{
    // Small and quick: PGD-20 and Square with 10 queries, 6 images, two eps, batches of 2 (three commits per whole run).
    static readonly string[] Cifar = ["robustness", "--model", "cifar-standard", "--n", "6", "--eps", "1,0.25", "--attacks", "pgd,square", "--square-queries", "10", "--batch", "2"];

    static readonly Dictionary<string, string?> NoScheduler = new()
    {
        ["SLURM_ARRAY_TASK_ID"] = null, ["SLURM_ARRAY_TASK_COUNT"] = null, ["JOB_COMPLETION_INDEX"] = null, ["REPRO_SHARD_COUNT"] = null,
    };

    static string[] Roots(string output) => ["--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot, "--threads", "1", "--out", output];

    static (int Code, string Output, string Error) Repro(params string[] args) => ReproProcess.Run(NoScheduler, args);

    static Process Start(params string[] args)
    {
        var process = Process.Start(ReproProcess.StartInfo(NoScheduler, args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static List<string> Records(string folder) => RecordsFile.Read(Path.Combine(folder, RobustnessManifest.RecordsName)).Select(r => r.Key()).ToList();

    /// <summary>robustness.tsv without the seconds column (the only one that differs between identical runs).</summary>
    static List<string> Table(string folder) => File.ReadAllLines(Path.Combine(folder, "robustness.tsv")).Select(l => string.Join('\t', l.Split('\t').Where((_, i) => i != 8))).ToList();

    string whole = "";
    readonly List<string> shards = [];

    [OneTimeSetUp]
    public void WholeRunAndThreeShards()
    {
        TestData.Require("cifar10");
        string root = TestData.TempFolder();
        whole = Path.Combine(root, "whole");
        var run = Start([.. Cifar, .. Roots(whole)]);
        var parts = Enumerable.Range(0, 3).Select(k =>
        {
            shards.Add(Path.Combine(root, $"shard{k}"));
            return Start([.. Cifar, "--shard", $"{k}/3", .. Roots(shards[k])]);
        }).ToList();
        foreach (var p in parts.Append(run))
        {
            Assert.That(p.WaitForExit(TimeSpan.FromMinutes(5)), Is.True, "a run finishes");
            Assert.That(p.ExitCode, Is.EqualTo(0));
            p.Dispose();
        }
    }

    [Test]
    public void ThreeShardsMergedEqualTheOneProcessRunOnTheCifarModel()
    {
        string merged = Path.Combine(TestData.TempFolder(), "merged");
        var (code, output, error) = Repro(["merge", .. shards, "--out", merged]);
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.EqualTo(0), error);
        var expected = Records(whole);
        Assert.That(expected, Has.Count.EqualTo(6 * 2 * 2), "6 examples x 2 eps x 2 attacks");
        Assert.That(shards.Sum(s => Records(s).Count), Is.EqualTo(expected.Count), "each example in one shard");
        Assert.That(shards.Count(s => Records(s).Count > 0), Is.GreaterThan(1), "the examples are spread over the shards");
        Assert.That(Records(merged), Is.EqualTo(expected), "records bit for bit, timings aside");
        Assert.That(Table(merged), Is.EqualTo(Table(whole)), "the table");
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(merged, "manifest.json")))!;
        Assert.That((string?)manifest["shard"]!["from"], Is.EqualTo("merged from 3 shards"));
        Assert.That((int?)manifest["data"]!["examples"], Is.EqualTo(6));
        Assert.That(File.Exists(Path.Combine(merged, "robustness.html")) && File.Exists(Path.Combine(merged, "robustness.png")), Is.True);
    }

    [Test]
    public void ThreeShardsMergedEqualTheOneProcessRunOnAnOnnxFile()
    {
        string model = Path.Combine(Fixture.Folder("onnx"), "allops_opset13.onnx");
        string images = TestData.TempFolder();
        // Random 16x16 images, each filed under the class the model gives it, so that every one is attacked.
        using (var loaded = ModelSource.Load(model, TestData.Paths))
        using (NewDisposeScope())
        {
            var x = rand(new long[] { 8, 3, 16, 16 }, generator: new Generator(5));
            var predicted = loaded.Module.call(x).argmax(1).data<long>().ToArray();
            for (int i = 0; i < 8; i++)
            {
                string folder = Path.Combine(images, loaded.Classes.Names[(int)predicted[i]]);
                Directory.CreateDirectory(folder);
                ImageFile.SavePng(x[i], Path.Combine(folder, $"noise{i}.png"));
            }
        }
        string root = TestData.TempFolder();
        string[] args = ["robustness", "--model", model, "--images", images, "--n", "8", "--eps", "0.02,0.2", "--attacks", "pgd,square", "--square-queries", "10", "--batch", "3"];
        var (code, output, error) = Repro([.. args, .. Roots(Path.Combine(root, "whole"))]);
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("--resize crop").And.Contain("already 16x16 used as they are"));
        for (int k = 0; k < 3; k++)
            Assert.That(Repro([.. args, "--shard", $"{k}/3", .. Roots(Path.Combine(root, $"shard{k}"))]).Code, Is.EqualTo(0));
        var merge = Repro(["merge", .. Enumerable.Range(0, 3).Select(k => Path.Combine(root, $"shard{k}")), "--out", Path.Combine(root, "merged")]);
        Assert.That(merge.Code, Is.EqualTo(0), merge.Error);
        var expected = Records(Path.Combine(root, "whole"));
        Assert.That(expected, Has.Count.EqualTo(8 * 2 * 2));
        Assert.That(Records(Path.Combine(root, "merged")), Is.EqualTo(expected));
        Assert.That(Table(Path.Combine(root, "merged")), Is.EqualTo(Table(Path.Combine(root, "whole"))));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "whole", "manifest.json")))!;
        Assert.That((string?)manifest["model"]!["sha256"], Is.EqualTo(RobustnessManifest.Sha256Of(model)));
    }

    [TestCase("TERM")]
    [TestCase("KILL")]
    public void AShardStoppedMidRunAndResumedGivesTheRecordsOfAnUninterruptedRun(string signal)
    {
        string output = Path.Combine(TestData.TempFolder(), "out");
        string parts = Path.Combine(output, RobustnessJob.PartsFolder);
        using (var process = Start([.. Cifar, .. Roots(output)]))
        {
            var clock = Stopwatch.StartNew();
            while (!(Directory.Exists(parts) && Directory.GetFiles(parts, "part-*.parquet").Length > 0) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
                Thread.Sleep(20);
            Assert.That(process.HasExited, Is.False, "the run is still going after its first committed batch");
            using (var kill = Process.Start("kill", $"-{signal} {process.Id}")) kill.WaitForExit();
            Assert.That(process.WaitForExit(TimeSpan.FromMinutes(3)), Is.True);
            TestContext.Out.WriteLine($"SIG{signal}: exit code {process.ExitCode}, {Directory.GetFiles(parts, "part-*.parquet").Length} parts committed");
            if (signal == "TERM") Assert.That(process.ExitCode, Is.EqualTo(75), "stopped after the running batch: requeue me");
            Assert.That(File.Exists(Path.Combine(output, "records.parquet")), Is.False, "interrupted before the end");
            Assert.That(Directory.GetFiles(parts, "part-*.parquet"), Is.Not.Empty);
        }
        var (code, text, error) = Repro([.. Cifar, .. Roots(output)]);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("resuming:"));
        Assert.That(Records(output), Is.EqualTo(Records(whole)));
        Assert.That(Directory.Exists(parts), Is.False, "the parts are gone once the records are written");
    }

    static string Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    [TestCase("missing", "shard 2/3 missing")]
    [TestCase("duplicated", "given twice")]
    [TestCase("other-model", "(different model)")]
    [TestCase("other-setting", "(different settings)")]
    [TestCase("corrupted", "SHA-256 differs")]
    public void MergeRefusesShardsThatDoNotMakeOneEvaluation(string what, string named)
    {
        string root = TestData.TempFolder();
        var given = shards.Select((s, k) => Copy(s, Path.Combine(root, $"shard{k}"))).ToList();
        string manifest = Path.Combine(given[1], "manifest.json");
        switch (what)
        {
            case "missing": given.RemoveAt(2); break;
            case "duplicated": given.Add(Copy(given[1], Path.Combine(root, "again"))); break;
            case "other-model": File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"cifar-standard\"", "\"cifar-robust\"", StringComparison.Ordinal)); break;
            case "other-setting": File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"seed\": 0", "\"seed\": 1", StringComparison.Ordinal)); break;
            case "corrupted":
                string records = Path.Combine(given[1], "records.parquet");
                var bytes = File.ReadAllBytes(records);
                bytes[bytes.Length / 2] ^= 0xFF;
                File.WriteAllBytes(records, bytes);
                break;
        }
        string output = Path.Combine(root, "merged");
        var (code, _, error) = Repro(["merge", .. given, "--out", output]);
        TestContext.Out.WriteLine(error);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(error, Does.Contain(named));
        Assert.That(Directory.Exists(output), Is.False, "nothing written");
    }
}
