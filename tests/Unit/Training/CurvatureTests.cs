using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

public class CurvatureTests
{
    [Test]
    public void PowerIterationFindsTheTopEigenvalueOfTheSecondMoment()
    {
        using var _ = NewDisposeScope();
        manual_seed(1);
        var x = rand(300, 20);      // uncentred, like pixels: one dominant eigenvalue along the mean
        var secondMoment = x.t().matmul(x) / 300;
        double expected = linalg.eigvalsh(secondMoment.to_type(ScalarType.Float64)).max().item<double>();
        Assert.That(Curvature.SecondMomentTopEigenvalue(x), Is.EqualTo(expected).Within(1e-4).Percent);
        Assert.That(Curvature.RowSgdStabilityLimit(x), Is.EqualTo(4 / expected).Within(1e-3).Percent);
    }

    /// <summary>Above the limit full-batch SGD on the two rows overshoots at once; well below it the loss falls.</summary>
    [Test]
    public void SgdPastTheLimitRaisesTheLossAndBelowItLowersIt()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(200, seed: 2);
        double limit = Curvature.RowSgdStabilityLimit(images.flatten(1));
        var past = LinearTraining.Standard(images, labels, 5, 10 * limit, seed: 1);
        var below = LinearTraining.Standard(images, labels, 5, 0.5 * limit, seed: 1);
        Assert.That(past.Losses.Max(), Is.GreaterThan(past.Losses[0]));
        Assert.That(below.Losses, Is.Ordered.Descending);
    }
}
