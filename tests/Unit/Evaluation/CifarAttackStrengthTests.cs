using Repro.Attacks;
using Repro.Data;
using Repro.Experiments;
using Repro.Models;
using Repro.Tests.Unit.Support;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Evaluation;

/// <summary>
/// The new attacks on the committed CIFAR-10 cat-vs-airplane models (data/weights/), on a modest
/// number of test images to stay fast: APGD-CE is at least as strong as the article's PGD-20, and
/// Square, with no gradient at all, brings the standard model down.
/// </summary>
[NonParallelizable]
public class CifarAttackStrengthTests
{
    static SmallResNet Model(TrainingRecipe recipe)
    {
        var model = CifarModels.TryLoadCommitted(recipe, TestContext.Out);
        if (model is null) Assert.Fail($"the committed {recipe.Name} weights are missing or do not match their sha256: {CifarModels.CommittedPath(recipe)}");
        model!.eval();
        return model;
    }

    static LabelledImages FirstPerClass(int perClass)
    {
        TestData.Require("cifar10");
        using var all = Cifar10.Load(TestData.Paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);
        return CifarClaimSetup.FirstPerClass(all, perClass);
    }

    /// <summary>
    /// Per example, every image the article's PGD-20 (targeted toward the other class, step 0.5, the
    /// claim's attack) fools at eps 1.25, APGD-CE with its 100 iterations fools too — except where
    /// PGD's own margin is within float noise (1e-3) of the decision boundary.
    /// </summary>
    [Test]
    public void ApgdCeFoolsEveryImagePgd20Fools([Values("standard", "robust")] string which)
    {
        using var _ = NewDisposeScope();
        using var model = Model(which == "standard" ? TrainingRecipe.Standard : TrainingRecipe.Robust);
        using var set = FirstPerClass(24);
        var ball = new L2Ball(1.25);
        using var pgd = Pgd.Run(CrossEntropyObjective.Targeted(model, set.Labels.neg().add(1)), set.Images, ball, new AttackRun(0), RobustModelResistsSmallPerturbations.SmallAttack);
        using var apgd = Apgd.Run(CrossEntropyObjective.Untargeted(model, set.Labels), set.Images, ball, new AttackRun(0, ExampleIds: CifarClaimSetup.FirstPerClassIndices(Cifar10.Load(TestData.Paths.DataRoot, Split.Test, Cifar10.CatVsAirplane), 24)), new ApgdOptions());
        Tensor margin;
        using (no_grad())
        {
            var logits = model.forward(pgd.Adversarial);
            margin = (logits.gather(1, set.Labels.neg().add(1).unsqueeze(1)) - logits.gather(1, set.Labels.unsqueeze(1))).squeeze(1);
        }
        var pgdFooled = pgd.Success.data<bool>().ToArray();
        var apgdFooled = apgd.Success.data<bool>().ToArray();
        var margins = margin.data<float>().ToArray();
        var missed = Enumerable.Range(0, pgdFooled.Length).Where(i => pgdFooled[i] && !apgdFooled[i]).ToList();
        TestContext.Out.WriteLine($"{which}: of {pgdFooled.Length} images PGD-20 fooled {pgdFooled.Count(f => f)}, APGD-CE {apgdFooled.Count(f => f)}; " +
                                  $"fooled by PGD only: {missed.Count} (PGD margins {string.Join(", ", missed.Select(i => margins[i].ToString("G3")))})");
        Assert.That(missed.Where(i => margins[i] > 1e-3f), Is.Empty, "APGD-CE misses no image that PGD-20 fools clearly");
        Assert.That(apgd.L2.max().item<float>(), Is.LessThanOrEqualTo(1.25f * 1.0001f));
    }

    /// <summary>
    /// Square with its published budget (5,000 queries, p_init 0.8, margin loss), no gradient, at L2 eps 1.25
    /// on the first 16 test images per class, is as strong as the reference implementation on the same
    /// images. Issue 15 asked for at most 10% accuracy here; that does not hold for this two-class model,
    /// and not because of Repro: AutoAttack's own square.py (fra31/auto-attack a392200), run on a PyTorch
    /// port of the same network and weights (clean accuracy 94.05% on the 2,000 test images, as Repro),
    /// left 34.4%, 37.5% and 34.4% (seeds 0–2) with the rescaled schedule Repro uses, and 40.6–46.9% with
    /// AutoAttack's standard (unrescaled) schedule; 34.5% on 100+100 images (2026-11-29, scripts not
    /// committed: they need Python). White-box APGD leaves about 7%. The bound is the reference's worst
    /// run with Repro's schedule, 12 of 32 images.
    /// </summary>
    [Test]
    public void SquareIsAsStrongAsTheReferenceImplementationOnTheStandardModel()
    {
        using var _ = NewDisposeScope();
        using var model = Model(TrainingRecipe.Standard);
        using var set = FirstPerClass(16);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var result = Square.Run(new MarginObjective(model, set.Labels), set.Images, new L2Ball(1.25), new AttackRun(0), new SquareOptions());
        double accuracy;
        using (no_grad()) accuracy = model.forward(result.Adversarial).argmax(1).eq(set.Labels).to_type(ScalarType.Float32).mean().item<float>();
        TestContext.Out.WriteLine($"Square (5,000 queries) on the standard model, {set.Count} images, eps 1.25: accuracy {accuracy:P1} ({watch.Elapsed.TotalSeconds:F0} s)");
        Assert.That(accuracy * set.Count, Is.LessThanOrEqualTo(12 + 1e-6), "at most the reference implementation's worst: 12 of 32 images still correct");
        Assert.That(result.L2.max().item<float>(), Is.LessThanOrEqualTo(1.25f * 1.0001f));
    }
}
