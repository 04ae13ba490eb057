using Repro.Attacks;

namespace Repro.Tests.Unit.Attacks;

public class NormTests
{
    [TestCase("l2", Norm.L2)]
    [TestCase("L2", Norm.L2)]
    [TestCase(" linf ", Norm.Linf)]
    [TestCase("LInf", Norm.Linf)]
    public void ANormIsReadInAnyCase(string text, Norm expected) => Assert.That(Norms.Parse(text), Is.EqualTo(expected));

    [TestCase("l1")]
    [TestCase("")]
    [TestCase(null)]
    [TestCase("l-inf")]
    public void AnythingElseIsRefusedNamingItsSource(string? text)
    {
        var e = Assert.Throws<ReproInputException>(() => Norms.Parse(text, "settings.Norm"))!;
        Assert.That(e.Message, Is.EqualTo($"settings.Norm must be l2 or linf, got '{text}'"));
    }

    /// <summary>The names in files (manifest.json, records, robustness.tsv) and in prose are the ones written before the norm was typed.</summary>
    [Test]
    public void NamesAndBallsAreTheOnesWrittenBefore()
    {
        Assert.That(Norms.All.Select(n => n.Name()), Is.EqualTo(new[] { "l2", "linf" }));
        Assert.That(Norms.All.Select(n => n.Display()), Is.EqualTo(new[] { "L2", "L-inf" }));
        Assert.That(Norms.All.Select(n => Norms.Parse(n.Name())), Is.EqualTo(Norms.All), "what is written is read back");
        Assert.That(Norm.L2.Ball(0.5), Is.TypeOf<L2Ball>().And.Property(nameof(ThreatModel.Eps)).EqualTo(0.5));
        Assert.That(Norm.Linf.Ball(8 / 255.0), Is.TypeOf<LinfBall>().And.Property(nameof(ThreatModel.Eps)).EqualTo(8 / 255.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ((Norm)7).Ball(1));
    }
}
