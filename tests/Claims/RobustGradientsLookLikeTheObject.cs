using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claim 3: "a standard model's vanilla gradient is noise, SmoothGrad is clearer, and a robust
/// model's plain gradient looks like the object" — on CIFAR-10 cat vs airplane.
/// </summary>
public class RobustGradientsLookLikeTheObject
{
    [Test]
    public void OnCifarCatVsAirplane() => ClaimRunner.Run(new GradientsOfRobustModelsLookLikeTheObject());
}
