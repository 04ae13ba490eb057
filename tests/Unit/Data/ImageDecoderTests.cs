using Repro.Data;
using Repro.Tests.Unit.Support;
using SkiaSharp;
using static Repro.Tests.Unit.Support.OwnImageCases;

namespace Repro.Tests.Unit.Data;

/// <summary>
/// Decoding users' files: incomplete and corrupt files refused naming the file, EXIF orientation
/// applied, transparency composited on white, the pixel limit enforced from the header.
/// </summary>
public class ImageDecoderTests
{
    static string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(TestData.TempFolder(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static ReproInputException Refused(string path, ImageDecodeOptions? options = null)
    {
        var e = Assert.Throws<ReproInputException>(() => ImageDecoder.Decode(path, options))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(path), "the message names the file");
        return e;
    }

    [Test]
    public void TheSharedTruncatedFilesAreRefused()
    {
        string dir = Folder("s03-trunc");
        foreach (var file in Directory.GetFiles(dir).Order())
            Assert.That(Refused(file).Message, Does.Contain("incomplete image data"));
    }

    [Test]
    public void FilesCutAnywhereAreRefused(
        [Values(SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Webp)] SKEncodedImageFormat format,
        [Values(0.1, 0.6, 0.95)] double fraction)
    {
        var whole = Encode(Photo(300, 200), format);
        string complete = Write("whole." + format.ToString().ToLowerInvariant(), whole);
        Assert.That(ImageDecoder.Decode(complete).Image.Width, Is.EqualTo(300), "the whole file decodes");
        var e = Refused(Write("cut." + format.ToString().ToLowerInvariant(), Truncate(whole, fraction)));
        Assert.That(e.Message, Does.Contain("incomplete").Or.Contain("corrupt").Or.Contain("not a valid"));
    }

    [TestCase("empty.jpg", new byte[0])]
    [TestCase("text.png", new byte[] { (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o' })]
    [TestCase("jpeg-signature-only.jpg", new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10 })]
    public void NonImagesAreRefused(string name, byte[] bytes) => Refused(Write(name, bytes));

    [Test]
    public void AMissingFileIsNamed() => Refused(Path.Combine(TestData.TempFolder(), "absent.jpg"));

    /// <summary>The shared case: stored 640x480 with red on the left, Orientation 6 (turn 90° clockwise): a viewer (and PIL's exif_transpose) shows 480x640 with red on top.</summary>
    [Test]
    public void TheSharedRotatedPhotoIsUpright()
    {
        var decoded = ImageDecoder.Decode(Path.Combine(Folder("s04-exif"), "redleft_orient6.jpg"));
        Assert.That(decoded.Origin, Is.EqualTo(SKEncodedOrigin.RightTop));
        Assert.That((decoded.Image.Width, decoded.Image.Height), Is.EqualTo((480, 640)));
        var top = Pixel(decoded.Image, 240, 20);
        var bottom = Pixel(decoded.Image, 240, 620);
        TestContext.Out.WriteLine($"top {top}, bottom {bottom}");
        Assert.That(top.R, Is.GreaterThan(180).And.GreaterThan(top.B + 100), "red on top");
        Assert.That(bottom.B, Is.GreaterThan(180).And.GreaterThan(bottom.R + 100), "blue at the bottom");
    }

    /// <summary>
    /// Every EXIF orientation, on a stored 120x80 image with coloured quadrants (TL red, TR green,
    /// BL blue, BR yellow). Expected: where the stored corners appear after the viewer's transform
    /// (EXIF 2.3, tag 0x0112), written out per value.
    /// </summary>
    [TestCase(1, 120, 80, 0, 1, 2, 3)]
    [TestCase(2, 120, 80, 1, 0, 3, 2)] // mirrored left-right
    [TestCase(3, 120, 80, 3, 2, 1, 0)] // rotated 180°
    [TestCase(4, 120, 80, 2, 3, 0, 1)] // mirrored top-bottom
    [TestCase(5, 80, 120, 0, 2, 1, 3)] // transposed
    [TestCase(6, 80, 120, 2, 0, 3, 1)] // turned 90° clockwise
    [TestCase(7, 80, 120, 3, 1, 2, 0)] // transversed
    [TestCase(8, 80, 120, 1, 3, 0, 2)] // turned 90° counter-clockwise
    public void EveryExifOrientationIsApplied(int orientation, int w, int h, int topLeft, int topRight, int bottomLeft, int bottomRight)
    {
        string path = Write($"orientation{orientation}.jpg", WithExifOrientation(Encode(Quadrants(120, 80), SKEncodedImageFormat.Jpeg, 95), orientation));
        var decoded = ImageDecoder.Decode(path);
        Assert.That((int)decoded.Origin, Is.EqualTo(orientation));
        Assert.That((decoded.Image.Width, decoded.Image.Height), Is.EqualTo((w, h)));
        int[] expected = [topLeft, topRight, bottomLeft, bottomRight];
        (int X, int Y)[] corners = [(w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4)];
        for (int q = 0; q < 4; q++)
        {
            var (r, g, b) = Pixel(decoded.Image, corners[q].X, corners[q].Y);
            var c = QuadrantColours[expected[q]];
            Assert.That(Math.Abs(r - c.Red) + Math.Abs(g - c.Green) + Math.Abs(b - c.Blue), Is.LessThan(30), $"quadrant {q} shows stored quadrant {expected[q]}");
        }
    }

    /// <summary>The shared case: a fully transparent background (stored as 0,0,0,0) shows white; the opaque disk keeps its colour.</summary>
    [Test]
    public void TheSharedTransparentLogoIsCompositedOnWhite()
    {
        var decoded = ImageDecoder.Decode(Path.Combine(Folder("s13-alpha"), "logo_transparent.png"));
        Assert.That(decoded.HadTransparency, Is.True);
        Assert.That(Pixel(decoded.Image, 0, 0), Is.EqualTo((255, 255, 255)), "transparent corner: white");
        Assert.That(Pixel(decoded.Image, 113, 113), Is.EqualTo((255, 140, 0)), "opaque centre: its own colour");
    }

    /// <summary>Half transparency: out = c·a/255 + 255·(1 − a/255), rounded: (0,0,255) at alpha 128 gives (127,127,255).</summary>
    [Test]
    public void PartialTransparencyIsBlendedWithWhite()
    {
        var decoded = ImageDecoder.Decode(Write("logo.png", Encode(TransparentLogo(64), SKEncodedImageFormat.Png)));
        Assert.That(Pixel(decoded.Image, 32, 61), Is.EqualTo((127, 127, 255)));
        Assert.That(Pixel(decoded.Image, 2, 40), Is.EqualTo((255, 255, 255)));
        Assert.That(decoded.Image.Pixels.Where((_, i) => i % 4 == 3).All(a => a == 255), Is.True, "opaque result");
    }

    [Test]
    public void AnOpaqueImageIsUnchanged()
    {
        var decoded = ImageDecoder.Decode(Write("p.png", Encode(Photo(50, 40), SKEncodedImageFormat.Png)));
        using var expected = Photo(50, 40);
        Assert.That(decoded.HadTransparency, Is.False);
        Assert.That(decoded.Image.Pixels, Is.EqualTo(expected.Bytes));
    }

    /// <summary>A small PNG that declares 60000x60000 (3.6 gigapixels) is refused from its header: no allocation is tried.</summary>
    [Test]
    public void APixelBombIsRefusedFromItsHeader()
    {
        var bomb = PngBomb(60000, 60000);
        TestContext.Out.WriteLine($"bomb: {bomb.Length} bytes");
        var e = Refused(Write("bomb.png", bomb));
        Assert.That(e.Message, Does.Contain("MaxPixels").And.Contain("60000x60000"));
    }

    [Test]
    public void ThePixelLimitIsAnOption()
    {
        string path = Write("p.png", Encode(Photo(341, 227), SKEncodedImageFormat.Png));
        Assert.That(Refused(path, new ImageDecodeOptions { MaxPixels = 341 * 227 - 1 }).Message, Does.Contain("MaxPixels 77406"));
        Assert.That(ImageDecoder.Decode(path, new ImageDecodeOptions { MaxPixels = 341 * 227 }).Image.Width, Is.EqualTo(341));
        Assert.That(ImageDecodeOptions.DefaultMaxPixels, Is.EqualTo(100_000_000));
        Assert.Throws<ReproInputException>(() => new ImageDecodeOptions { MaxPixels = 0 }.Validate());
        Assert.Throws<ReproInputException>(() => new ImageDecodeOptions { MaxPixels = ImageDecodeOptions.LargestMaxPixels + 1 }.Validate());
    }

    /// <summary>A JPEG over the limit is decoded at the largest DCT scale that fits (400x300 under 40,000 pixels: 1/2, 200x150), with a note.</summary>
    [Test]
    public void ALargeJpegIsDecodedAtAReducedScale()
    {
        string path = Write("big.jpg", Encode(Photo(400, 300), SKEncodedImageFormat.Jpeg));
        var decoded = ImageDecoder.Decode(path, new ImageDecodeOptions { MaxPixels = 40_000 });
        TestContext.Out.WriteLine(decoded.Note);
        Assert.That((decoded.Image.Width, decoded.Image.Height), Is.EqualTo((200, 150)));
        Assert.That((decoded.StoredWidth, decoded.StoredHeight), Is.EqualTo((400, 300)));
        Assert.That(decoded.Note, Does.Contain(path).And.Contain("200x150"));
        Assert.That(ImageDecoder.Decode(path).Note, Is.Null, "under the limit: a full decode, no note");
    }
}
