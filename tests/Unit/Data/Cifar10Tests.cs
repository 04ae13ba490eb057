using Repro.Data;
using Repro.Tests.Unit.Support;

namespace Repro.Tests.Unit.Data;

public class Cifar10Tests
{
    [Test]
    public void ClassFoldersHoldTheFullCatAndAirplaneSplits()
    {
        TestData.Require("cifar10");
        using var train = Cifar10.Load(TestData.Paths.DataRoot, Split.Train, Cifar10.CatVsAirplane);
        using var test = Cifar10.Load(TestData.Paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);

        Assert.That(train.Images.shape, Is.EqualTo(new long[] { 10_000, 3, 32, 32 }));
        Assert.That(test.Images.shape, Is.EqualTo(new long[] { 2_000, 3, 32, 32 }));
        Assert.That(train.Labels.eq(0).sum().item<long>(), Is.EqualTo(5_000), "cats (label 0) in train");
        Assert.That(train.Labels.eq(1).sum().item<long>(), Is.EqualTo(5_000), "airplanes (label 1) in train");
        Assert.That(test.Labels.eq(0).sum().item<long>(), Is.EqualTo(1_000), "cats in test");
        Assert.That(test.Labels.eq(1).sum().item<long>(), Is.EqualTo(1_000), "airplanes in test");
        Assert.That(train.Images.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(train.Images.max().item<float>(), Is.LessThanOrEqualTo(1f));
        Assert.That(train.ClassNames, Is.EqualTo(new[] { "cat", "airplane" }));
    }

    [Test]
    public void BinaryBatchesAreReadWithTheClassFilterInTheGivenOrder()
    {
        string root = TestData.TempFolder();
        string folder = Path.Combine(root, "cifar-10-batches-bin");
        Directory.CreateDirectory(folder);
        // Records: label byte then 3,072 pixel bytes. Labels 3 (cat), 0 (airplane), 5 (dog).
        byte[] Record(byte label, byte value) => [label, .. Enumerable.Repeat(value, 3072)];
        File.WriteAllBytes(Path.Combine(folder, "test_batch.bin"), [.. Record(3, 255), .. Record(0, 0), .. Record(5, 51)]);

        using var data = Cifar10.Load(root, Split.Test, ["airplane", "cat"]);

        Assert.That(data.Labels.data<long>().ToArray(), Is.EqualTo(new long[] { 1, 0 }), "cat is label 1 when listed second");
        Assert.That(data.Images[0].mean().item<float>(), Is.EqualTo(1f));
        Assert.That(data.Images[1].mean().item<float>(), Is.EqualTo(0f));
    }

    [Test]
    public void ATruncatedBatchFileIsRejectedByName()
    {
        string root = TestData.TempFolder();
        string folder = Path.Combine(root, "cifar-10-batches-bin");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "test_batch.bin"), new byte[100]);

        var error = Assert.Throws<ReproInputException>(() => Cifar10.Load(root, Split.Test, Cifar10.CatVsAirplane));
        Assert.That(error!.Message, Does.Contain("test_batch.bin"));
    }

    [Test]
    public void AMissingDataRootSaysWhatToPlaceWhere()
    {
        string root = Path.Combine(TestData.TempFolder(), "nowhere");
        var error = Assert.Throws<MissingInputsException>(() => Cifar10.Load(root, Split.Train, Cifar10.CatVsAirplane));
        Assert.That(error!.Message, Does.Contain(root).And.Contain("cifar-10-binary.tar.gz").And.Contain("REPRO_DATA"));
        Assert.That(error.Fix, Does.Contain($"repro fetch cifar10 --data {root}"));
    }

    [Test]
    public void ACorruptImageInAClassFolderIsNamed()
    {
        string root = TestData.TempFolder();
        foreach (var c in new[] { "cat", "airplane" }) Directory.CreateDirectory(Path.Combine(root, "cifar10", "test", c));
        string bad = Path.Combine(root, "cifar10", "test", "cat", "0001.jpg");
        File.WriteAllText(bad, "this is not a JPEG");

        var error = Assert.Throws<ReproInputException>(() => Cifar10.Load(root, Split.Test, Cifar10.CatVsAirplane));
        Assert.That(error!.Message, Does.Contain(bad));
    }
}
