using Repro.Data;

namespace Repro.Tests.Unit.Data;

/// <summary>A one-channel model's images: PIL's <c>convert("L")</c>, byte for byte.</summary>
public class GreyImageTests
{
    [Test]
    public void GreyIsPilsLumaAndLeavesAGreyImageAsItIs()
    {
        // (R, G, B) and what Debian's PIL 9.4 gives for them with Image.convert("L"), computed once:
        // /usr/bin/python3 -c "from PIL import Image; im = Image.new('RGB', (10, 1)); im.putdata(px); print(list(im.convert('L').getdata()))"
        byte[][] rgb = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [12, 200, 77], [128, 128, 128], [1, 2, 3], [254, 1, 127], [99, 98, 97]];
        byte[] pil = [0, 255, 76, 150, 29, 130, 128, 2, 91, 98];
        var pixels = rgb.SelectMany(p => new byte[] { p[0], p[1], p[2], 255 }).ToArray();
        using var grey = new Rgba8Image(rgb.Length, 1, pixels).ToTensor(1);
        Assert.That(grey.shape, Is.EqualTo(new long[] { 1, 1, rgb.Length }));
        Assert.That(grey.data<float>().ToArray(), Is.EqualTo(pil.Select(b => b / 255f).ToArray()));

        var levels = Enumerable.Range(0, 256).Select(v => (byte)v).ToArray();
        using var same = new Rgba8Image(256, 1, levels.SelectMany(v => new[] { v, v, v, (byte)255 }).ToArray()).ToTensor(1);
        Assert.That(same.data<float>().ToArray(), Is.EqualTo(levels.Select(v => v / 255f).ToArray()), "every grey level kept");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rgba8Image(1, 1, [1, 2, 3, 255]).ToTensor(2));
    }
}
