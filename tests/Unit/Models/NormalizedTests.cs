using Repro.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models;

public class NormalizedTests
{
    [Test]
    public void ItComputesThePerChannelStandardisation()
    {
        using var _ = NewDisposeScope();
        var model = new Normalized(nn.Identity(), [0.5f, 0.25f], [0.5f, 2f]);
        var images = rand(2, 2, 4, 4);
        var expected = stack([(images[.., 0] - 0.5) / 0.5, (images[.., 1] - 0.25) / 2], 1);
        Assert.That(model.forward(images).allclose(expected, atol: 1e-6), Is.True);
    }

    /// <summary>
    /// Mean and std follow the images: a model moved to a GPU, or run in another dtype, normalises
    /// with constants on the images' device and in their dtype (TorchSharp's to() left this module's
    /// buffers behind; on a GPU that failed with "found at least two devices, cuda:0 and cpu").
    /// float16 images minus a float32 mean would come out float32, so the dtype shows it on the CPU.
    /// </summary>
    [Test]
    public void MeanAndStdFollowTheImages()
    {
        using var _ = NewDisposeScope();
        var model = Normalized.ImageNet(nn.Identity());
        var half = rand(1, 3, 8, 8).to(ScalarType.Float16);
        var output = model.forward(half);
        Assert.That(output.dtype, Is.EqualTo(ScalarType.Float16));
        var expected = (half.to(ScalarType.Float32) - tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(1, 3, 1, 1)) / tensor(new[] { 0.229f, 0.224f, 0.225f }).reshape(1, 3, 1, 1);
        Assert.That(output.to(ScalarType.Float32).allclose(expected, atol: 1e-2), Is.True);
        Assert.That(model.forward(rand(1, 3, 8, 8)).dtype, Is.EqualTo(ScalarType.Float32), "and back");
    }
}
