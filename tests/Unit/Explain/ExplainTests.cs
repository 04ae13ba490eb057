using Repro.Attacks;
using Repro.Explain;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Explain;

public class ExplainTests
{
    [Test]
    public void SmoothGradWithZeroNoiseEqualsTheVanillaGradient()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(1);
        var images = rand(3, 3, 32, 32);
        var target = AttributionTarget.Logit(tensor(new long[] { 0, 1, 2 }));
        var vanilla = new VanillaGradient(model).Attribute(images, target);
        var smooth = new SmoothGrad(new VanillaGradient(model), samples: 5, sigma: 0, batchSize: 4).Attribute(images, target);
        Assert.That(smooth.allclose(vanilla, atol: 1e-6), Is.True);
    }

    [Test]
    public void SmoothGradIsTheMeanGradientOverNoisyCopies([Values(1, 4, 7, 100)] int batchSize)
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(2);
        var images = rand(2, 3, 32, 32);
        var labels = tensor(new long[] { 1, 2 });
        const int samples = 6;
        const double sigma = 0.2;
        var smooth = new SmoothGrad(new VanillaGradient(model), samples, sigma, batchSize, seed: 11)
            .Attribute(images, AttributionTarget.Loss(labels));

        // Reference: the documented per-example noise (ids from the pixels), one copy at a time.
        var noise = SmoothGradReference.Noise(images, ExampleIds.OfContent(images), 11, samples);
        var reference = SmoothGradReference.Compute(model, images, labels, noise, sigma, samples);
        Assert.That((smooth - reference).abs().max().item<float>(), Is.LessThan(1e-5f * reference.abs().max().item<float>() + 1e-7f),
            "every batch size draws the same noise for the same example");
    }

    [Test]
    public void TheTutorialVisualisationIsCentredGreyInTheUnitRange()
    {
        using var _ = NewDisposeScope();
        manual_seed(3);
        var grad = randn(2, 3, 16, 16) * 1e-4f;
        var image = SaliencyImage.Visualise(grad);
        Assert.That(image.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(image.max().item<float>(), Is.LessThanOrEqualTo(1f));
        Assert.That(image.mean().item<float>(), Is.EqualTo(0.5f).Within(0.02f));
    }

    [Test]
    public void NoisinessRanksPixelNoiseAboveASmoothBlob()
    {
        using var _ = NewDisposeScope();
        manual_seed(4);
        var noise = randn(1, 3, 32, 32);
        var ys = arange(32).reshape(1, 1, 32, 1).to_type(ScalarType.Float32);
        var xs = arange(32).reshape(1, 1, 1, 32).to_type(ScalarType.Float32);
        var blob = exp(-((ys - 16).pow(2) + (xs - 16).pow(2)) / 50).expand(1, 3, 32, 32);
        Assert.That(Noisiness.TotalVariationRatio(noise).item<float>(), Is.GreaterThan(5 * Noisiness.TotalVariationRatio(blob).item<float>()));
    }

    [Test]
    public void FeatureVisualisationRaisesTheComponentAtEveryStep()
    {
        using var _ = NewDisposeScope();
        var model = new TinyNet();
        manual_seed(5);
        var start = rand(2, 3, 32, 32) * 0.5f + 0.25f;
        const int component = 17;
        double previous = FeatureVisualisation.Component(model, start, component).sum().item<float>();
        for (int steps = 1; steps <= 6; steps++)
        {
            using var r = FeatureVisualisation.Maximise(model, start, component, new L2Ball(1000), new AttackRun(0), new PgdOptions { Steps = steps, StepSize = 0.3 });
            double now = FeatureVisualisation.Component(model, r.Adversarial, component).sum().item<float>();
            Assert.That(now, Is.GreaterThan(previous), $"after {steps} steps");
            previous = now;
        }
    }
}

public class EdgeAlignmentTests
{
    [Test]
    public void AMapTracingTheImagesEdgesScoresAboveNoise()
    {
        using var _ = NewDisposeScope();
        manual_seed(6);
        // A bright square on black: its outline is the only edge.
        var image = zeros(1, 3, 32, 32);
        image[.., .., 8..24, 8..24] = tensor(1f);
        var grey = image.mean([1], keepdim: true);
        var dy = nn.functional.pad(grey[.., .., 1.., ..] - grey[.., .., ..^1, ..], [0, 0, 0, 1]).abs();
        var dx = nn.functional.pad(grey[.., .., .., 1..] - grey[.., .., .., ..^1], [0, 1, 0, 0]).abs();
        var outline = (0.5 + 0.4 * (dx + dy).clamp_max(1)).expand(1, 3, 32, 32);
        var noise = (0.5 + 0.2 * randn(1, 3, 32, 32)).clamp(0, 1);
        double traced = EdgeAlignment.Correlation(outline, image).item<float>();
        double random = EdgeAlignment.Correlation(noise, image).item<float>();
        Assert.That(traced, Is.GreaterThan(0.8));
        Assert.That(Math.Abs(random), Is.LessThan(0.2));
    }
}
