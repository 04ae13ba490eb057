using Repro.Data;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Data;

public class ImageNetValidationTests
{
    [Test]
    public void ClassIndicesComeFromTheSynsetListNotFolderOrder()
    {
        TestData.Require("imagenet/val");
        var val = ImageNetValidation.Open(TestData.Paths.DataRoot);

        Assert.That(val.Samples, Has.Count.EqualTo(1_300));
        Assert.That(val.Samples.Select(s => s.Label).Distinct().Count(), Is.EqualTo(725));
        Assert.That(val.Classes.Names[1], Is.EqualTo("goldfish"));
        Assert.That(val.Classes.Resolve("goldfish"), Is.EqualTo(1));
        foreach (var s in val.Samples.Take(50))
            Assert.That(val.Classes.Wnids[s.Label], Is.EqualTo(Path.GetFileName(Path.GetDirectoryName(s.Path))));
    }

    [Test]
    public void TheEvaluationTransformGives224SquaresInTheUnitRange()
    {
        TestData.Require("imagenet/val");
        var val = ImageNetValidation.Open(TestData.Paths.DataRoot);
        using var batch = ImageNetValidation.Load(val.Samples.Take(4).ToList(), val.Classes.Names);

        Assert.That(batch.Images.shape, Is.EqualTo(new long[] { 4, 3, 224, 224 }));
        Assert.That(batch.Images.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(batch.Images.max().item<float>(), Is.LessThanOrEqualTo(1f));
        Assert.That(batch.Images.std().item<float>(), Is.GreaterThan(0.05f), "real picture content, not a blank");
    }

    [Test]
    public void AMissingValidationFolderIsNamedWithItsFix()
    {
        string root = TestData.TempFolder();
        var error = Assert.Throws<MissingInputsException>(() => ImageNetValidation.Open(root));
        Assert.That(error!.Message, Does.Contain(root));
        Assert.That(error.Fix, Does.Contain($"repro fetch imagenet-val --data {root}"));
    }

    [Test]
    public void UnknownClassNamesAreRejectedByName()
    {
        var error = Assert.Throws<ReproInputException>(() => ImageNetClasses.Standard.Resolve("unicorn"));
        Assert.That(error!.Message, Does.Contain("unicorn"));
    }

    /// <summary>
    /// The class list ships inside the assembly: the public ILSVRC-2012 list (Caffe's
    /// synset_words.txt, sha256 acf75ef0…), 1,000 classes in standard order.
    /// </summary>
    [Test]
    public void TheStandardClassListShipsWithTheProduct()
    {
        var classes = ImageNetClasses.Standard;
        Assert.That(classes.Wnids, Has.Count.EqualTo(1000));
        Assert.That(classes.Wnids.Distinct().Count(), Is.EqualTo(1000));
        Assert.That((classes.Wnids[0], classes.Names[0]), Is.EqualTo(("n01440764", "tench")));
        Assert.That((classes.Wnids[1], classes.Names[1]), Is.EqualTo(("n01443537", "goldfish")));
        Assert.That((classes.Wnids[999], classes.Names[999]), Is.EqualTo(("n15075141", "toilet tissue")));
        Assert.That(classes.Resolve("goldfish"), Is.EqualTo(1));
        using var stream = typeof(ImageNetClasses).Assembly.GetManifestResourceStream("Repro.Data.synset_words.txt")!;
        Assert.That(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream)),
            Is.EqualTo("acf75ef0abe89694b19056e0796401068b459c457baa30335f240c7692857355"));
    }
}
