using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claim 5: "maximising a component of the representation produces object-like changes on the
/// robust model and barely visible noise on the standard one" — on CIFAR-10 cat vs airplane.
/// </summary>
public class FeatureVisualisationChangesImagesPerceptiblyOnlyOnRobustModels
{
    [Test]
    public void OnCifarCatVsAirplane() => ClaimRunner.Run(new FeatureVisualisationIsPerceptual());
}
