using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claim 6: an adversarially trained linear model keeps its accuracy under L2 attacks that flip most of
/// the standard linear model's predictions (thresholds beside <see cref="RobustLinearExperiment"/>).
/// </summary>
public class AdversarialTrainingMakesARobustLinearModel
{
    [Test]
    public void TheRobustLinearModelIsNotFooledWhereTheStandardOneCollapses() =>
        ClaimRunner.Run(new RobustLinearExperiment());
}
