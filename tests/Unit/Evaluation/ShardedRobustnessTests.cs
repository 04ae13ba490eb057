using System.Diagnostics;
using System.Text.Json.Nodes;
using Repro.Data;
using Repro.Application.Jobs;
using Repro.Models.Formats;
using Repro.Tests.Unit.Models.Formats;
using Repro.Tests.Unit.Support;
using YamlDotNet.RepresentationModel;
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
        // A requeued task that had already finished does nothing.
        var again = Repro([.. Cifar, .. Roots(output)]);
        Assert.That(again.Code, Is.EqualTo(0), again.Error);
        Assert.That(again.Output, Does.Contain("already complete"));
        Assert.That(Records(output), Is.EqualTo(Records(whole)));
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

    /// <summary>The repository's root: the folder above the tests that holds Repro.sln.</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Repro.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Repro.sln above {AppContext.BaseDirectory}");
    }

    static YamlMappingNode Yaml(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "kubernetes", file)));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    static YamlNode At(YamlNode node, params string[] path) => path.Aggregate(node, (n, key) => ((YamlMappingNode)n).Children[new YamlScalarNode(key)]);
    static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;
    static List<string> Args(YamlNode job) => ((YamlSequenceNode)At(((YamlSequenceNode)At(job, "spec", "template", "spec", "containers")).Children[0], "args")).Children.Select(a => ((YamlScalarNode)a).Value!).ToList();

    [Test]
    public void TheKubernetesIndexedJobCarriesItsFieldsAndItsCommandRunOncePerIndexThenMergedEqualsTheOneProcessRun()
    {
        var job = Yaml("shards-job.yaml");
        var merge = Yaml("merge-job.yaml");
        Assert.That(Text(job, "kind"), Is.EqualTo("Job"));
        Assert.That(Text(job, "spec", "completionMode"), Is.EqualTo("Indexed"));
        int completions = int.Parse(Text(job, "spec", "completions"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(int.Parse(Text(job, "spec", "parallelism"), System.Globalization.CultureInfo.InvariantCulture), Is.InRange(1, completions));
        Assert.That(int.Parse(Text(job, "spec", "backoffLimitPerIndex"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
        var rules = ((YamlSequenceNode)At(job, "spec", "podFailurePolicy", "rules")).Children;
        Assert.That(rules.Any(r => Text(r, "action") == "Ignore" && ((YamlMappingNode)r).Children.ContainsKey(new YamlScalarNode("onPodConditions"))
            && ((YamlSequenceNode)At(r, "onPodConditions")).Children.Any(c => Text(c, "type") == "DisruptionTarget")), Is.True, "preemption is not counted as a failure");
        Assert.That(int.Parse(Text(job, "spec", "template", "spec", "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(300),
            "the grace period outlasts one batch");
        var container = ((YamlSequenceNode)At(job, "spec", "template", "spec", "containers")).Children[0];
        var env = ((YamlSequenceNode)At(container, "env")).Children.ToDictionary(e => Text(e, "name"), e => Text(e, "value"));
        Assert.That(env["REPRO_SHARD_COUNT"], Is.EqualTo(completions.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var args = Args(job);
        var mergeArgs = Args(merge);
        Assert.That(mergeArgs.Skip(3), Is.EqualTo(Enumerable.Range(0, completions).Select(k => $"/run/shards/{k}")), "the merge takes every shard");
        // The same evaluation as the one-process run of this fixture (and as deploy/slurm's test).
        Assert.That(args.TakeWhile(a => a != "--data"), Is.EqualTo(Cifar));

        string run = TestData.TempFolder();
        string Local(string a) => a.Replace("/run/", run + "/", StringComparison.Ordinal) switch
        {
            "/data" => TestData.Paths.DataRoot,
            "/models" => TestData.Paths.ModelRoot,
            var other => other,
        };
        for (int k = 0; k < completions; k++)
        {
            var environment = new Dictionary<string, string?>(NoScheduler) { ["JOB_COMPLETION_INDEX"] = $"{k}", ["REPRO_SHARD_COUNT"] = env["REPRO_SHARD_COUNT"] };
            var (code, output, error) = ReproProcess.Run(environment, [.. args.Select(a => Local(a.Replace("$(JOB_COMPLETION_INDEX)", $"{k}", StringComparison.Ordinal)))]);
            Assert.That(code, Is.EqualTo(0), error);
            Assert.That(output, Does.Contain($"Kubernetes completion index {k} of {completions}"));
        }
        var merged = Repro([.. mergeArgs.Select(Local)]);
        Assert.That(merged.Code, Is.EqualTo(0), merged.Error);
        Assert.That(Records(Path.Combine(run, "merged")), Is.EqualTo(Records(whole)));
        Assert.That(Table(Path.Combine(run, "merged")), Is.EqualTo(Table(whole)));
    }

    /// <summary>
    /// deploy/slurm for real: a single-node Slurm started on this machine (deploy/slurm/ci/single-node.sh;
    /// .ci/run installs slurm-wlm and munge), the array of three shards and the afterok merge submitted by
    /// deploy/slurm/submit.sh with the fixture's evaluation; the merged records equal the one-process run's.
    /// </summary>
    [Test]
    public void TheSlurmArrayAndItsAfterokMergeEqualTheOneProcessRun()
    {
        string root = RepositoryRoot();
        string state = TestData.TempFolder();
        string script = Path.Combine(root, "deploy", "slurm", "ci", "single-node.sh");
        var start = Shell(script, "start", state);
        if (start.Code != 0) TestData.NotRun($"a single-node Slurm could not start here: {start.Error.Trim()}");
        try
        {
            string conf = Path.Combine(state, "slurm.conf");
            string output = Path.Combine(TestData.TempFolder(), "eval");
            string dll = typeof(Repro.Cli.ReproCommand).Assembly.Location;
            string host = Path.Combine(Path.GetDirectoryName(dll)!, Path.GetFileNameWithoutExtension(dll));
            var environment = new Dictionary<string, string?>(NoScheduler) { ["SLURM_CONF"] = conf, ["REPRO"] = File.Exists(host) ? host : $"dotnet {dll}" };
            var submit = Shell(environment, Path.Combine(root, "deploy", "slurm", "submit.sh"),
                ["3", output, .. Cifar.Skip(1), "--data", TestData.Paths.DataRoot, "--models", TestData.Paths.ModelRoot, "--threads", "1"]);
            TestContext.Out.WriteLine(submit.Output + submit.Error);
            Assert.That(submit.Code, Is.EqualTo(0), submit.Error);
            string records = Path.Combine(output, "merged", "records.parquet");
            var clock = Stopwatch.StartNew();
            while (!File.Exists(records) && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                Thread.Sleep(500);
                if (Shell(environment, "squeue", ["-h"]).Output.Trim().Length == 0 && !File.Exists(records)) break;
            }
            TestContext.Out.WriteLine($"after {clock.Elapsed.TotalSeconds:F0} s; queue: {Shell(environment, "squeue", []).Output}");
            foreach (var log in Directory.GetFiles(Path.Combine(output, "logs")).Concat(Directory.GetFiles(state, "*.log")))
                TestContext.Out.WriteLine($"{Path.GetFileName(log)}: {string.Join(" | ", File.ReadAllText(log).Trim().Split('\n').TakeLast(3))}");
            Assert.That(File.Exists(records), Is.True, "the merge job ran after the array");
            Assert.That(Records(Path.Combine(output, "merged")), Is.EqualTo(Records(whole)));
            Assert.That(Table(Path.Combine(output, "merged")), Is.EqualTo(Table(whole)));
            Assert.That(File.ReadAllText(Path.Combine(output, "shards", "1", "manifest.json")), Does.Contain("Slurm array task 1 of 3"));
        }
        finally
        {
            Shell(script, "stop", state);
        }
    }

    static (int Code, string Output, string Error) Shell(string program, params string[] args) => Shell(new Dictionary<string, string?>(), program, args);

    static (int Code, string Output, string Error) Shell(IReadOnlyDictionary<string, string?> environment, string program, string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}
