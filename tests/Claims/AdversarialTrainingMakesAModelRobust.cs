using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// The committed weights' recipes, shortened so that they fit in the suite (about a minute):
/// "adversarial training makes a model robust at eps 1.25, standard training does not" — one short
/// epoch of each, both starting from the committed standard model.
/// </summary>
public class AdversarialTrainingMakesAModelRobust
{
    [Test]
    public void AShortEpochOfItMovesAStandardModelTowardRobustness() => ClaimRunner.Run(new ShortAdversarialTrainingBuysRobustness());
}
