using System.Reflection;
using Repro.Attacks;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// One call shape per attack, and per-call settings in one place (issue 20). Every public entry point
/// of the attacks takes, in this order, who is attacked (an objective, or the model and the labels),
/// the images, the threat model, the call's <see cref="AttackRun"/> and last the attack's own settings
/// (optional); no settings record carries the seed, example ids, progress or precision, which live in
/// <see cref="AttackRun"/> alone. Checked by reflection over the library, so a new attack that breaks
/// the shape fails here.
/// </summary>
public class CallShapeTests
{
    static readonly string[] PerCall = [nameof(AttackRun.Seed), nameof(AttackRun.ExampleIds), nameof(AttackRun.Progress), nameof(AttackRun.Precision)];

    static IEnumerable<Type> AttackTypes() => typeof(AttackRun).Assembly.GetExportedTypes().Where(t => t.Namespace == "Repro.Attacks");

    /// <summary>
    /// Public methods that attack: they take a threat model and return an <see cref="AttackResult"/>
    /// (LowPrecision.Confirm aside: it re-measures a search's result in float32 and attacks nothing).
    /// </summary>
    static IEnumerable<MethodInfo> EntryPoints() => AttackTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        .Where(m => m.ReturnType == typeof(AttackResult) && m.GetParameters().Any(p => p.ParameterType == typeof(ThreatModel)))
        .Where(m => !(m.DeclaringType == typeof(LowPrecision) && m.Name == nameof(LowPrecision.Confirm)));

    [Test]
    public void EveryAttackTakesImagesThenThreatThenRunThenItsOptionsLast()
    {
        var entries = EntryPoints().ToList();
        // The five algorithms, their targeted forms, the IAttack classes and the batched runner.
        Assert.That(entries.Select(m => $"{m.DeclaringType!.Name}.{m.Name}"), Is.SupersetOf(new[]
        {
            "Pgd.Run", "Apgd.Run", "Apgd.RunTargeted", "Square.Run", "Fab.Run", "Fab.RunTargeted", "IAttack.Run",
            "PgdAttack.Run", "ApgdAttack.Run", "ApgdTargetedAttack.Run", "SquareAttack.Run", "FabAttack.Run", "FabTargetedAttack.Run",
            "BatchedAttack.Run", "BatchedAttack.Pgd", "GradientAttackLoop.Run",
        }));
        var wrong = new List<string>();
        foreach (var m in entries)
        {
            var ps = m.GetParameters();
            int images = Array.FindIndex(ps, p => p.Name == "images");
            int threat = Array.FindIndex(ps, p => p.ParameterType == typeof(ThreatModel));
            int run = Array.FindIndex(ps, p => p.ParameterType == typeof(AttackRun));
            int labels = Array.FindIndex(ps, p => p.Name == "labels");
            int options = Array.FindIndex(ps, p => p.ParameterType.Name.EndsWith("Options", StringComparison.Ordinal));
            string shape = $"{m.DeclaringType!.Name}.{m.Name}({string.Join(", ", ps.Select(p => p.Name))})";
            bool ok = images >= 0 && threat == images + (labels == images + 1 ? 2 : 1) && run == threat + 1
                && (labels < 0 || labels == images + 1)
                && (options < 0 || options > run)
                && ps[..images].All(p => p.Name is "objective" or "model" or "attack");
            if (!ok) wrong.Add(shape);
        }
        Assert.That(wrong, Is.Empty, "entry points out of the shape (who, images[, labels], threat, run[, options])");
    }

    [Test]
    public void NoSettingsRecordCarriesWhatVariesPerCall()
    {
        var settings = AttackTypes().Where(t => t.Name.EndsWith("Options", StringComparison.Ordinal) || t == typeof(LoopSettings)).ToList();
        Assert.That(settings.Select(t => t.Name), Is.SupersetOf(new[] { "PgdOptions", "ApgdOptions", "SquareOptions", "FabOptions", "LoopSettings" }));
        var doubled = settings.SelectMany(t => t.GetProperties().Where(p => PerCall.Contains(p.Name)).Select(p => $"{t.Name}.{p.Name}")).ToList();
        Assert.That(doubled, Is.Empty, "seed, example ids, progress and precision live in AttackRun only");
    }

    [Test]
    public void TheRunsSeedAndIdsDecideTheRandomStartThroughEveryFace()
    {
        // The same AttackRun through IAttack and through the algorithm's entry gives the same result,
        // and another seed another one: the run is where the randomness is keyed.
        using var scope = NewDisposeScope();
        manual_seed(3);
        var model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 3));
        var images = rand(4, 3, 4, 4);
        var labels = tensor(new long[] { 0, 1, 2, 0 });
        var threat = new L2Ball(0.3);
        var options = new ApgdOptions { Iterations = 2, StopOnSuccess = false };
        var run = new AttackRun(11, ExampleIds.Range(0, 4));
        using var viaInterface = new ApgdAttack(ApgdLoss.CrossEntropy, options).Run(model, images, labels, threat, run);
        using var direct = Apgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, threat, run, options);
        using var otherSeed = Apgd.Run(CrossEntropyObjective.Untargeted(model, labels), images, threat, run with { Seed = 12 }, options);
        Assert.That(viaInterface.Adversarial.eq(direct.Adversarial).all().item<bool>(), Is.True, "IAttack and Apgd.Run agree bitwise");
        Assert.That((otherSeed.Adversarial - direct.Adversarial).abs().max().item<float>(), Is.GreaterThan(1e-4f));
    }
}
