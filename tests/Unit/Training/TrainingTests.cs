using Repro.Models;
using Repro.Tests.Unit.Support;
using Repro.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

public class TrainingTests
{
    [Test]
    public void TheRecipeHashChangesWithEveryHyperparameterAndTheSeed()
    {
        var r = TrainingRecipe.Robust;
        var variants = new[]
        {
            r with { Seed = 1 }, r with { Epochs = 4 }, r with { LearningRate = 0.05 }, r with { AdversaryEps = 1.0 },
            r with { AdversarySteps = 7 }, r with { CropPadding = 2 }, r with { HorizontalFlip = false }, r with { WeightDecay = 1e-4 },
            r with { BatchSize = 64 }, r with { TrainSubset = 100 }, r with { Width = 32 }, r with { Momentum = 0.8 },
        };
        var hashes = variants.Select(v => v.RecipeHash()).Append(r.RecipeHash()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(hashes.Distinct().Count(), Is.EqualTo(hashes.Count));
            Assert.That(r.Key("data-a"), Is.Not.EqualTo(r.Key("data-b")), "the cache key includes the data identity");
            Assert.That((r with { Name = "robust" }).RecipeHash(), Is.EqualTo(r.RecipeHash()), "same recipe, same hash");
        });
    }

    [Test]
    public void TheScheduleRisesToThePeakThenFallsToZero()
    {
        var r = TrainingRecipe.Standard;
        int total = 1000;
        var lr = Enumerable.Range(0, total).Select(s => Trainer.LearningRate(r, s, total)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(lr.Max(), Is.EqualTo(r.LearningRate).Within(0.001));
            Assert.That(lr[0], Is.LessThan(0.01 * r.LearningRate));
            Assert.That(lr[^1], Is.LessThan(0.01 * r.LearningRate));
            Assert.That(lr.IndexOf(lr.Max()), Is.EqualTo((int)(r.WarmupFraction * total)).Within(1));
        });
    }

    [Test]
    public void CropAndFlipIsSeededAndKeepsTheImagesPixels()
    {
        using var _ = NewDisposeScope();
        manual_seed(1);
        var images = rand(16, 3, 32, 32);
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        var a = Augmentation.CropAndFlip(images, 4, true, g1);
        var b = Augmentation.CropAndFlip(images, 4, true, g2);
        var none = Augmentation.CropAndFlip(images, 0, false, g1);
        Assert.Multiple(() =>
        {
            Assert.That(a.shape, Is.EqualTo(images.shape));
            Assert.That(a.allclose(b, 0, 0), Is.True, "same seed, same augmentation");
            Assert.That(none.allclose(images, 0, 0), Is.True, "no padding and no flip is the identity");
            Assert.That(a.allclose(images, 0, 0), Is.False);
        });
    }

    [Test]
    public void TheCacheReturnsTheSavedModelAndIgnoresATamperedFile()
    {
        using var _ = NewDisposeScope();
        manual_seed(2);
        var model = new SmallResNet();
        model.eval();
        var cache = new ModelCache(TestData.TempFolder());
        var recipe = TrainingRecipe.Standard with { Name = "unit" };
        string key = recipe.Key("data");
        cache.Save(model, recipe, new WeightManifest
        {
            Recipe = recipe.Describe(), RecipeCanonical = recipe.Canonical(), RecipeHash = recipe.RecipeHash(), Key = key,
            DataIdentity = "data", DataDescription = "unit test", WeightsSha256 = "",
        });
        var x = rand(2, 3, 32, 32);
        using var loaded = cache.TryLoad(recipe, key, 2, TextWriter.Null);
        Assert.That(loaded, Is.Not.Null);
        Assert.That(loaded!.forward(x).allclose(model.forward(x)), Is.True);
        Assert.That(cache.TryLoad(recipe, recipe.Key("other data"), 2, TextWriter.Null), Is.Null, "another data identity is another key");

        File.AppendAllText(cache.WeightsPath(recipe, key), "x");
        Assert.That(cache.TryLoad(recipe, key, 2, TextWriter.Null), Is.Null, "a file whose sha256 no longer matches is not used");
    }
}
