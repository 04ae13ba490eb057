using Repro.Data;
using Repro.Report;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Report;

public class ImageGridTests
{
    [Test]
    public void AGridOfCaptionedImagesIsWrittenAsPngWithVisibleText()
    {
        using var _ = NewDisposeScope();
        manual_seed(0);
        var images = Enumerable.Range(0, 3).Select(i => rand(3, 32, 32)).ToList();
        var rows = new List<GridRow>
        {
            new("originals", images.Select((im, i) => new GridCell(im, $"tabby cat {90 - i}%")).ToList()),
            new("adversarial (L2 eps 1.25)", images.Select(im => new GridCell((im * 0.9f).clamp(0, 1), "goldfish 99%")).ToList()),
        };
        string path = Path.Combine(TestData.TempFolder(), "grid.png");

        ImageGrid.Save(path, rows, title: "A labelled grid");

        using var png = ImageFile.Load(path);
        Assert.That(png.shape[1], Is.GreaterThan(2 * 160));
        // Caption strip above the first image: white background with dark glyph pixels.
        var caption = png[.., 8..40, 8..168];
        double dark = caption.lt(0.3).to_type(ScalarType.Float32).mean().item<float>();
        Assert.That(dark, Is.GreaterThan(0.01).And.LessThan(0.5), "captions are drawn (ink on white)");
        TestContext.Out.WriteLine($"grid written to {path}");
    }

    [Test]
    public void PngRoundTripKeepsPixels()
    {
        using var _ = NewDisposeScope();
        var image = (rand(3, 5, 7) * 255).round() / 255;
        string path = Path.Combine(TestData.TempFolder(), "x.png");
        ImageFile.SavePng(image, path);
        using var back = ImageFile.Load(path);
        Assert.That(back.allclose(image, atol: 1e-6), Is.True);
    }
}
