using Repro.Experiments;
using Repro.Models;
using Repro.Tests.Claims.Support;

namespace Repro.Tests.Claims;

/// <summary>
/// Claim 1: targeted L2 PGD (eps 1.25, step 0.5, 20 steps) toward goldfish makes a standard
/// ImageNet classifier label every one of 16 images a goldfish (100%), with every perturbation
/// inside the ball (L2 &lt;= 1.25) and invisible (PSNR &gt;= 40 dB). Runs for every ImageNet model
/// in the registry; a model whose weights are absent is reported NOT RUN with how to get them.
/// </summary>
public class TargetedPgdMakesEveryImageAGoldfish
{
    static IEnumerable<string> Models => ModelRegistry.Names;

    [TestCaseSource(nameof(Models))]
    public void EveryAttackedImageIsClassifiedAsGoldfish(string model) =>
        ClaimRunner.Run(new Repro.Experiments.TargetedAttackMakesEveryImageAGoldfish(model));
}
