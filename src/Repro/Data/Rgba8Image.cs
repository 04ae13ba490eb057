using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>
/// An opaque 8-bit RGB image in memory: <see cref="Pixels"/> holds <see cref="Width"/> x
/// <see cref="Height"/> pixels row by row, four bytes each (R, G, B, and 255), the layout PIL uses
/// for "RGB" images, so the resampling code reads the same bytes PIL reads.
/// </summary>
internal sealed class Rgba8Image
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>Row-major RGBA bytes, 4 * Width * Height of them; alpha is always 255.</summary>
    public byte[] Pixels { get; }

    public Rgba8Image(int width, int height, byte[] pixels)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"image size must be positive, got {width}x{height}");
        if (pixels.LongLength != 4L * width * height)
            throw new ArgumentException($"expected {4L * width * height} bytes for {width}x{height} RGBA, got {pixels.LongLength}", nameof(pixels));
        (Width, Height, Pixels) = (width, height, pixels);
    }

    /// <summary>The image as a float32 tensor [3,H,W] with values byte / 255 in [0,1] (torchvision's ToTensor).</summary>
    public Tensor ToTensor()
    {
        int plane = Width * Height;
        var data = new float[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            data[i] = Pixels[4 * i] / 255f;
            data[plane + i] = Pixels[4 * i + 1] / 255f;
            data[2 * plane + i] = Pixels[4 * i + 2] / 255f;
        }
        return tensor(data, new long[] { 3, Height, Width });
    }

    /// <summary>
    /// The image as a float32 tensor [<paramref name="channels"/>,H,W] in [0,1]: 3 is
    /// <see cref="ToTensor()"/>; 1 is PIL's <c>convert("L")</c> (ITU-R 601-2 luma in integer
    /// arithmetic, (19595 R + 38470 G + 7471 B + 32768) >> 16, then / 255), which leaves a grey image's
    /// bytes as they are.
    /// </summary>
    /// <param name="channels">1 (grey) or 3 (RGB).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is neither 1 nor 3.</exception>
    public Tensor ToTensor(int channels)
    {
        if (channels == 3) return ToTensor();
        if (channels != 1) throw new ArgumentOutOfRangeException(nameof(channels), $"images load as RGB (3 channels) or grey (1), not {channels} channels");
        int plane = Width * Height;
        var data = new float[plane];
        for (int i = 0; i < plane; i++)
            data[i] = ((Pixels[4 * i] * 19595 + Pixels[4 * i + 1] * 38470 + Pixels[4 * i + 2] * 7471 + 0x8000) >> 16) / 255f;
        return tensor(data, new long[] { 1, Height, Width });
    }

    /// <summary>The R, G, B byte of pixel (x, y): channel 0, 1 or 2.</summary>
    public byte this[int x, int y, int channel] => Pixels[4 * ((long)y * Width + x) + channel];
}
