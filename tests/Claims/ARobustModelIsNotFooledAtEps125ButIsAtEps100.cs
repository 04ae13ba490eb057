using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claim 4: "targeted L2 PGD with eps 1.25 does not fool the robust model; eps 100 does, with
/// visibly changed images" — on CIFAR-10 cat vs airplane, the first 250 test images of each class.
/// </summary>
public class ARobustModelIsNotFooledAtEps125ButIsAtEps100
{
    [Test]
    public void OnCifarCatVsAirplane() => ClaimRunner.Run(new RobustModelResistsSmallPerturbations());
}
