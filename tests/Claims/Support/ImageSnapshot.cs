using Repro.Data;
using static TorchSharp.torch;

namespace Repro.Tests.Claims.Support;

/// <summary>
/// A Verify-style snapshot assertion for images: the image is compared, as 8-bit RGB, with the
/// approved PNG <c>snapshots/{name}.png</c>. It matches when the mean absolute difference is at
/// most <see cref="MeanTolerance"/> and no channel of any pixel differs by more than
/// <see cref="MaxTolerance"/> (float results differ slightly across CPUs and thread counts;
/// these bounds let that through and catch any real change of a map).
///
/// On a mismatch, or when no approved file exists, the image is written to
/// <c>snapshots/{name}.received.png</c> and the test FAILS (an approved snapshot is never created
/// silently). To accept: look at the received file and rename it to <c>{name}.png</c>
/// (<c>mv snapshots/{name}.received.png snapshots/{name}.png</c>), then commit it.
/// </summary>
public static class ImageSnapshot
{
    public const double MeanTolerance = 2 / 255.0;
    public const double MaxTolerance = 32 / 255.0;

    public static string Folder => Path.Combine(ReproPaths.RepositoryRoot(), "snapshots");

    /// <summary>Asserts that a [3,H,W] image in [0,1] matches its approved snapshot.</summary>
    public static void Match(string name, Tensor image, string? folder = null)
    {
        folder ??= Folder;
        string approved = Path.Combine(folder, name + ".png");
        string received = Path.Combine(folder, name + ".received.png");
        using var scope = NewDisposeScope();
        var actual = Quantise(image);
        if (!File.Exists(approved))
        {
            ImageFile.SavePng(actual, received);
            Assert.Fail($"no approved snapshot {approved}. The image was written to {received}: look at it and, if it is right, " +
                        $"accept it with `mv {received} {approved}` and commit the file.");
        }
        var expected = ImageFile.Load(approved);
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            ImageFile.SavePng(actual, received);
            Assert.Fail($"snapshot {name}: size [{string.Join(",", actual.shape)}] differs from the approved [{string.Join(",", expected.shape)}] ({approved}); " +
                        $"received image written to {received} (accept: `mv {received} {approved}`)");
        }
        var diff = (actual - expected).abs();
        double mean = diff.mean().item<float>(), max = diff.max().item<float>();
        TestContext.Out.WriteLine($"snapshot {name}: mean abs difference {mean * 255:F2}/255 (allowed {MeanTolerance * 255:F0}), max {max * 255:F0}/255 (allowed {MaxTolerance * 255:F0})");
        if (mean > MeanTolerance || max > MaxTolerance)
        {
            ImageFile.SavePng(actual, received);
            Assert.Fail($"snapshot {name} differs from {approved}: mean abs difference {mean * 255:F2}/255 (allowed {MeanTolerance * 255:F0}), " +
                        $"max {max * 255:F0}/255 (allowed {MaxTolerance * 255:F0}). Received image written to {received}; " +
                        $"if the change is intended, accept it with `mv {received} {approved}` and commit.");
        }
        if (File.Exists(received)) File.Delete(received);
    }

    /// <summary>The image as a PNG stores it: 8-bit per channel.</summary>
    static Tensor Quantise(Tensor image) => image.detach().to(CPU).to_type(ScalarType.Float32).clamp(0, 1).mul(255).round().div(255);
}
