using Repro.Data;
using Repro.Experiments;
using Repro.Models;
using Repro.Report;
using Repro.Tests.Claims.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Claims;

/// <summary>
/// The pictures of claims 3 and 5 for both committed CIFAR models, compared with approved PNGs in
/// snapshots/ (see <see cref="ImageSnapshot"/> for the tolerance and how to accept a change): the
/// first 4 cats and 4 airplanes of the test split, side by side at 32x32.
/// </summary>
public class SaliencyAndFeatureVisualisationSnapshots
{
    SmallResNet standard = null!, robust = null!;
    LabelledImages images = null!;

    [OneTimeSetUp]
    public void Load()
    {
        var context = ClaimRunner.Context();
        using var all = ClaimRunner.Inputs("CIFAR-10 snapshots", () => CifarClaimSetup.Test(context));
        (standard, robust) = CifarClaimSetup.Models(context);
        images = CifarClaimSetup.FirstPerClass(all, 4);
    }

    [OneTimeTearDown]
    public void Dispose()
    {
        standard?.Dispose();
        robust?.Dispose();
        images?.Dispose();
    }

    SmallResNet Model(string name) => name == "standard" ? standard : robust;

    [Test]
    public void VanillaGradient([Values("standard", "robust")] string model)
    {
        using var _ = NewDisposeScope();
        var (vanilla, _) = GradientsOfRobustModelsLookLikeTheObject.Maps(Model(model), images.Images, images.Labels, 1, 0.3, ClaimRunner.Seed);
        ImageSnapshot.Match($"cifar-{model}-vanilla-gradient", ImageStrip.Horizontal(vanilla));
    }

    [Test]
    public void SmoothGrad([Values("standard", "robust")] string model)
    {
        using var _ = NewDisposeScope();
        var (_, smooth) = GradientsOfRobustModelsLookLikeTheObject.Maps(Model(model), images.Images, images.Labels, 100, 0.3, ClaimRunner.Seed);
        ImageSnapshot.Match($"cifar-{model}-smoothgrad", ImageStrip.Horizontal(smooth));
    }

    [Test]
    public void FeatureVisualisation([Values("standard", "robust")] string model)
    {
        using var _ = NewDisposeScope();
        var v = FeatureVisualisationIsPerceptual.Visualise(Model(model), images.Images, 20, ClaimRunner.Seed);
        ImageSnapshot.Match($"cifar-{model}-feature-visualisation", ImageStrip.Horizontal(v.Result));
    }
}
