using System.Text.RegularExpressions;
using Repro.Experiments;

namespace Repro.Tests.Unit.Experiments;

/// <summary>One naming of claims: the catalogue runs claims 1 to 6 in the article's order, and every experiment id (and so claims.json, report anchors and figures) starts with <c>claim-N-</c>.</summary>
public class ExperimentCatalogTests
{
    [Test]
    public void TheCatalogueIsTheArticlesSixClaimsInOrder()
    {
        var names = ExperimentCatalog.Names.ToList();
        Assert.That(names, Has.Count.EqualTo(6));
        for (int i = 0; i < names.Count; i++)
            Assert.That(names[i], Does.StartWith($"claim-{i + 1}-"), $"entry {i + 1}");
    }

    [Test]
    public void EveryExperimentIdStartsWithItsClaim()
    {
        foreach (var name in ExperimentCatalog.Names)
        {
            string claim = Regex.Match(name, "^claim-[1-6]-").Value;
            foreach (var experiment in ExperimentCatalog.Create(name))
                Assert.That(experiment.Id, Does.StartWith(claim), $"{name}: {experiment.Id}");
        }
    }

    [TestCase("claim-4", "claim-4-robust-model")]
    [TestCase("CLAIM-4-ROBUST-MODEL", "claim-4-robust-model")]
    [TestCase("claim-6", "claim-6-robust-linear")]
    public void ShortAndCaseInsensitiveNamesPickOneClaim(string given, string meant) =>
        Assert.That(ExperimentCatalog.Create(given).Select(e => e.Id), Is.EqualTo(ExperimentCatalog.Create(meant).Select(e => e.Id)));

    [TestCase("robust")]
    [TestCase("claim-")]
    [TestCase("claim-7")]
    public void UnknownNamesAreRefusedWithTheKnownOnes(string given) =>
        Assert.That(() => ExperimentCatalog.Create(given), Throws.TypeOf<ReproInputException>().With.Message.Contains("claim-1-goldfish"));
}
