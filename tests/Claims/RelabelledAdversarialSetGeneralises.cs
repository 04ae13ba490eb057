using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claim 2: a linear model trained only on adversarial examples labelled with the wrong class scores
/// well above chance on the real test labels (thresholds beside <see cref="NonRobustFeaturesExperiment"/>).
/// </summary>
public class RelabelledAdversarialSetGeneralises
{
    [Test]
    public void AModelTrainedOnlyOnRelabelledAdversarialExamplesClassifiesTheRealTestSet() =>
        ClaimRunner.Run(new NonRobustFeaturesExperiment());
}
