using Repro.Experiments;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claims 3-5 on the article's own model, MadryLab's robust ResNet50 for Restricted ImageNet:
/// NOT RUN (with how to get it) unless its re-exported checkpoint is under the model root.
/// </summary>
public class TheArticlesRobustResNet50
{
    [Test] public void IsNotFooledAtEps125ButIsAtEps100() => ClaimRunner.Run(new RobustResNet50ResistsSmallPerturbations());
    [Test] public void HasGradientsThatLookLikeTheObject() => ClaimRunner.Run(new RobustResNet50GradientsLookLikeTheObject());
    [Test] public void HasPerceptualFeatureVisualisations() => ClaimRunner.Run(new RobustResNet50FeatureVisualisation());
}
