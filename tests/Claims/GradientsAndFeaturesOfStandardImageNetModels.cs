using Repro.Experiments;
using Repro.Models;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claims 3 and 5 on the standard ImageNet classifiers that are present: SmoothGrad (100 samples,
/// sigma 0.3) is clearer than the plain gradient (noisiness ratio &lt;= 0.9), and maximising a
/// component of the representation (L2 PGD, eps 1000, step 5, 20 steps) raises it on every image.
/// </summary>
public class GradientsAndFeaturesOfStandardImageNetModels
{
    static IEnumerable<string> Models => ModelRegistry.Names;

    [TestCaseSource(nameof(Models))]
    public void SmoothGradIsClearerThanThePlainGradient(string model) =>
        ClaimRunner.Run(new SmoothGradIsClearerOnImageNet(model));

    [TestCaseSource(nameof(Models))]
    public void MaximisingAComponentOfTheRepresentationRaisesIt(string model) =>
        ClaimRunner.Run(new FeatureVisualisationOnImageNet(model));
}
