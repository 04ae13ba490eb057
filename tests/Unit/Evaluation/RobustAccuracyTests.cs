using Repro.Attacks;
using Repro.Evaluation;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Tests.Unit.Evaluation;

/// <summary>The ensemble's bookkeeping, with scripted attacks on a model whose decision is plain: class 0 when the pixel is above 0.5.</summary>
public class RobustAccuracyTests
{
    sealed class Threshold : Module<Tensor, Tensor>
    {
        public Threshold() : base("Threshold") { }
        public override Tensor forward(Tensor x) => cat([x.flatten(1)[.., ..1] - 0.5, 0.5 - x.flatten(1)[.., ..1]], 1) * 10;
    }

    /// <summary>Moves the examples whose id it targets to the other side of 0.5 (by <paramref name="reach"/>), records which ids it was given.</summary>
    sealed class Scripted(string name, HashSet<long> fools, bool gradientFree = false, double reach = 0.1, bool claimAll = false) : IAttack
    {
        public List<long> Given { get; } = [];
        public string Name => name;
        public string Budget => "scripted";
        public bool GradientFree => gradientFree;
        public int MinimumClasses => 2;

        public AttackResult Run(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, ThreatModel threat, AttackRun run)
        {
            Given.AddRange(run.ExampleIds!);
            var hit = tensor(run.ExampleIds!.Select(id => fools.Contains(id)).ToArray()).reshape(-1, 1);
            var moved = where(hit, images - reach, images);
            return new AttackResult
            {
                Adversarial = moved, Loss = zeros(images.shape[0]), Success = claimAll ? ones(images.shape[0], dtype: ScalarType.Bool) : hit.flatten(),
                L2 = zeros(images.shape[0]), Linf = zeros(images.shape[0]),
            };
        }
    }

    // Ten examples: pixel 0.55 (class 0, correct) except example 9 at 0.45 with label 0 (misclassified).
    static (Tensor Images, Tensor Labels, long[] Ids) Data()
    {
        var values = Enumerable.Repeat(0.55f, 9).Append(0.45f).ToArray();
        return (tensor(values).reshape(10, 1), zeros(10, dtype: ScalarType.Int64), ExampleIds.Range(100, 10));
    }

    static RobustnessSettings Settings(params IAttack[] attacks) => new() { Norm = Norm.L2, Eps = [0.2], Attacks = attacks, UnboundedExamples = 0 };

    [Test]
    public void RobustAccuracyIsTheWorstCaseAndLaterAttacksSeeOnlyTheSurvivors()
    {
        using var _ = NewDisposeScope();
        var (x, y, ids) = Data();
        var first = new Scripted("first", [100, 101, 102]);
        var second = new Scripted("second", [101, 103, 104]);
        var square = new Scripted("square", [105], gradientFree: true);
        // Listed first, the gradient-free attack still runs last.
        var result = RobustAccuracy.Evaluate("threshold", new Threshold(), x, y, ids, Settings(square, first, second));
        var eps = result.PerEps.Single();
        Assert.That(result.CleanAccuracy, Is.EqualTo(0.9).Within(1e-9));
        Assert.That(result.Attacks.Select(a => a.Name), Is.EqualTo(new[] { "first", "second", "square" }));
        Assert.That(first.Given, Is.EqualTo(ExampleIds.Range(100, 9)), "the misclassified example is never attacked");
        Assert.That(second.Given, Is.EqualTo(new long[] { 103, 104, 105, 106, 107, 108 }));
        Assert.That(square.Given, Is.EqualTo(new long[] { 105, 106, 107, 108 }));
        Assert.That(eps.Stages.Select(s => s.RobustAccuracy), Is.EqualTo(new[] { 0.6, 0.4, 0.3 }).Within(1e-9));
        Assert.That(eps.Stages.Select(s => s.NewlyFooled), Is.EqualTo(new long[] { 3, 2, 1 }));
        Assert.That(eps.RobustAccuracy, Is.EqualTo(0.3).Within(1e-9));
        Assert.That(eps.RobustPerExample, Is.EqualTo(new[] { false, false, false, false, false, false, true, true, true, false }));
        Assert.That(eps.Flags.Single(f => f.Name == "gradient-free-wins").Fired, Is.True, "square fooled 1 of 10 the gradient attacks missed");
        var table = string.Join("\n", RobustnessTable.Lines(result));
        TestContext.Out.WriteLine(table);
        Assert.That(table, Does.Contain("30.0%").And.Contain("gradient-free-wins"));
    }

    [Test]
    public void AClaimedSuccessThatDoesNotFoolTheModelIsNotCounted()
    {
        using var _ = NewDisposeScope();
        var (x, y, ids) = Data();
        // Moves example 100 only 0.01: still 0.54, still class 0, though the attack claims every example.
        var liar = new Scripted("liar", [100], reach: 0.01, claimAll: true);
        var result = RobustAccuracy.Evaluate("threshold", new Threshold(), x, y, ids, Settings(liar));
        Assert.That(result.PerEps.Single().RobustAccuracy, Is.EqualTo(0.9).Within(1e-9));
    }

    [Test]
    public void AnExampleOutsideTheBallIsAnAttackBugNotAResult()
    {
        using var _ = NewDisposeScope();
        var (x, y, ids) = Data();
        var cheat = new Scripted("cheat", [100], reach: 0.3);
        var e = Assert.Throws<InvalidOperationException>(() => RobustAccuracy.Evaluate("threshold", new Threshold(), x, y, ids, Settings(cheat)));
        Assert.That(e!.Message, Does.Contain("cheat").And.Contain("outside"));
    }

    [Test]
    public void TooFewClassesForAnAttackIsRefusedByName()
    {
        using var _ = NewDisposeScope();
        var (x, y, ids) = Data();
        var e = Assert.Throws<ReproInputException>(() => RobustAccuracy.Evaluate("threshold", new Threshold(), x, y, ids, Settings(new ApgdAttack(ApgdLoss.Dlr))));
        Assert.That(e!.Message, Does.Contain("apgd-dlr").And.Contain("apgd-margin"));
        Assert.That(Assert.Throws<ReproArgumentException>(() => AttackCatalog.Parse("apgd-t", classes: 3))!.ParamName, Is.EqualTo("classes"));
        Assert.That(AttackCatalog.Standard(2).Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-margin", "fab-t", "square" }));
        Assert.That(AttackCatalog.Standard(3).Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-dlr", "fab-t", "square" }));
        Assert.That(AttackCatalog.Standard(10).Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-t", "fab-t", "square" }));
        Assert.That(AttackCatalog.Plus(10).Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t" }));
        Assert.That(AttackCatalog.Plus(3).Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-dlr", "fab", "square", "fab-t" }));
        Assert.That(AttackCatalog.Plus(2).Select(a => a.Name), Is.EqualTo(new[] { "apgd-ce", "apgd-margin", "fab", "square", "fab-t" }));
    }

    [Test]
    public void AttackAndPresetNamesAreMatchedInAnyLetterCaseAndUnknownOnesAreRefusedByParameterName()
    {
        Assert.That(AttackCatalog.Create("APGD-CE", 10).Name, Is.EqualTo("apgd-ce"));
        Assert.That(AttackCatalog.Parse("Standard", 10).Select(a => a.Name), Is.EqualTo(AttackCatalog.Standard(10).Select(a => a.Name)));
        Assert.That(AttackCatalog.Parse(" FAB-T , Square ", 10).Select(a => a.Name), Is.EqualTo(new[] { "fab-t", "square" }));
        Assert.DoesNotThrow(() => AttackCatalog.CheckNames("PLUS,apgd-T"));
        var unknown = Assert.Throws<ReproArgumentException>(() => AttackCatalog.Create("fgsm", 10))!;
        Assert.That(unknown.ParamName, Is.EqualTo("name"));
        Assert.That(unknown.Message, Does.Contain("unknown attack 'fgsm'").And.Not.Contain("--"));
        var listed = Assert.Throws<ReproArgumentException>(() => AttackCatalog.CheckNames("apgd-ce,fgsm"))!;
        Assert.That(listed.ParamName, Is.EqualTo("list"));
        Assert.That(listed.Message, Does.Contain("fgsm").And.Not.Contain("--"));
        Assert.That(Assert.Throws<ReproArgumentException>(() => AttackCatalog.Parse(" , ", 10))!.ParamName, Is.EqualTo("list"));
    }

    [Test]
    public void ThePresetsCarryTheReferencesBudgets()
    {
        Assert.That(AttackCatalog.Standard(10).Select(a => a.Budget), Is.EqualTo(new[]
        {
            "100 iterations, 1 restart", "up to 9 target classes × 100 iterations", "up to 9 target classes × 100 iterations", "5000 queries, p_init 0.8",
        }));
        Assert.That(AttackCatalog.Plus(10).Select(a => a.Budget), Is.EqualTo(new[]
        {
            "100 iterations, 5 restarts", "100 iterations, 5 restarts", "100 iterations, 5 restarts", "5000 queries, p_init 0.8",
            "up to 9 target classes × 100 iterations", "up to 9 target classes × 100 iterations",
        }));
        Assert.That(AttackCatalog.Parse("plus", 10).Count, Is.EqualTo(6));
        Assert.That(AttackCatalog.Parse("fab,fab-t", 10).Select(a => a.Name), Is.EqualTo(new[] { "fab", "fab-t" }));
    }

    [Test]
    public void AnExampleFooledAtASmallerEpsIsRecordedFooledAtTheLargerOnesWithoutAnotherAttack()
    {
        using var _ = NewDisposeScope();
        var (x, y, ids) = Data();
        var first = new Scripted("first", [100, 101]);
        // Listed out of order: the eps run in increasing order.
        var settings = Settings(first) with { Eps = [0.3, 0.2] };
        var result = RobustAccuracy.Evaluate("threshold", new Threshold(), x, y, ids, settings);
        Assert.That(result.PerEps.Select(e => e.Eps), Is.EqualTo(new[] { 0.2, 0.3 }));
        Assert.That(first.Given.Count(id => id == 100), Is.EqualTo(1), "attacked at eps 0.2 only");
        Assert.That(first.Given, Has.Count.EqualTo(9 + 7), "eps 0.2: the 9 correct; eps 0.3: the 7 left");
        var carried = result.Records.Single(r => r.ExampleId == 100 && r.Eps == 0.3);
        Assert.That((carried.Attacked, carried.Success, carried.FirstFooledBy, carried.FooledAtEps), Is.EqualTo((false, true, "first", (double?)0.2)));
        var clean = result.Records.Single(r => r.ExampleId == 109 && r.Eps == 0.2);
        Assert.That((clean.Attacked, clean.Success, clean.FirstFooledBy, clean.FooledAtEps), Is.EqualTo((false, true, "clean", (double?)0)));
        Assert.That(result.Records, Has.Count.EqualTo(10 * 2), "one record per example, eps and stage");
        Assert.That(result.PerEps.Select(e => e.RobustAccuracy), Is.EqualTo(new[] { 0.7, 0.7 }).Within(1e-9));
    }

    [Test]
    public void AnExamplesShardDependsOnItsIdAndTheEvaluationsSizeOnly()
    {
        int batches = Repro.Application.Jobs.Shard.Batches(examples: 1000, batchSize: 250);
        Assert.That(batches, Is.EqualTo(4));
        var ids = Enumerable.Range(0, 1000).Select(i => (long)i * 7919).ToList();
        var shards = Enumerable.Range(0, 3).Select(k => new Repro.Application.Jobs.Shard(k, 3)).ToList();
        Assert.That(ids.All(id => shards.Count(s => s.Contains(id, batches)) == 1), Is.True, "every example in exactly one shard");
        Assert.That(ids.Select(id => Repro.Application.Jobs.Shard.BatchOf(id, batches)).Distinct().Count(), Is.EqualTo(4), "the ids spread over the batches");
        Assert.That(Repro.Application.Jobs.Shard.Parse("2/8"), Is.EqualTo(new Repro.Application.Jobs.Shard(2, 8)));
        foreach (var bad in new[] { "8/8", "-1/3", "1", "a/b", "0/0" })
            Assert.Throws<ReproInputException>(() => Repro.Application.Jobs.Shard.Parse(bad), bad);
        var slurm = Repro.Application.Jobs.Shard.FromEnvironment(v => v switch { "SLURM_ARRAY_TASK_ID" => "1", "SLURM_ARRAY_TASK_COUNT" => "4", _ => null });
        Assert.That(slurm!.Value.Shard, Is.EqualTo(new Repro.Application.Jobs.Shard(1, 4)));
        var kubernetes = Repro.Application.Jobs.Shard.FromEnvironment(v => v switch { "JOB_COMPLETION_INDEX" => "2", "REPRO_SHARD_COUNT" => "3", _ => null });
        Assert.That(kubernetes!.Value.Shard, Is.EqualTo(new Repro.Application.Jobs.Shard(2, 3)));
        Assert.That(Repro.Application.Jobs.Shard.FromEnvironment(_ => null), Is.Null);
        Assert.Throws<ReproInputException>(() => Repro.Application.Jobs.Shard.FromEnvironment(v => v == "JOB_COMPLETION_INDEX" ? "0" : null));
    }
}
