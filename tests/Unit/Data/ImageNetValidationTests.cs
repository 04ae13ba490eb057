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
    public void AMissingValidationFolderIsNamed()
    {
        string root = TestData.TempFolder();
        var error = Assert.Throws<ReproInputException>(() => ImageNetValidation.Open(root));
        Assert.That(error!.Message, Does.Contain(Path.Combine(root, "imagenet", "val")));
    }

    [Test]
    public void UnknownClassNamesAreRejectedByName()
    {
        TestData.Require("imagenet/synset_words.txt");
        var classes = ImageNetClasses.Load(Path.Combine(TestData.Paths.DataRoot, "imagenet", "synset_words.txt"));
        var error = Assert.Throws<ReproInputException>(() => classes.Resolve("unicorn"));
        Assert.That(error!.Message, Does.Contain("unicorn"));
    }
}
