using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>
/// Image files to and from tensors. Tensors are float32 [3,H,W] RGB in [0,1]; SkiaSharp does the
/// decoding (JPEG, PNG, ...) and encoding (PNG). Writes are atomic: a temp file, then a rename.
/// </summary>
public static class ImageFile
{
    /// <summary>Decodes an image file as 8-bit RGBA, or throws naming the file.</summary>
    public static SKBitmap Decode(string path)
    {
        if (!File.Exists(path)) throw new ReproInputException($"image file not found: {path}");
        SKBitmap? decoded;
        try { decoded = SKBitmap.Decode(path); }
        catch (Exception e) { throw new ReproInputException($"cannot decode image {path}: {e.Message}", e); }
        if (decoded == null || decoded.Width == 0 || decoded.Height == 0)
            throw new ReproInputException($"cannot decode image {path}: not a readable image (corrupt or unsupported format)");
        if (decoded.ColorType == SKColorType.Rgba8888 && decoded.AlphaType != SKAlphaType.Unpremul) return decoded;
        using (decoded)
        {
            var rgba = new SKBitmap(new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
            using var canvas = new SKCanvas(rgba);
            canvas.Clear(SKColors.Black);
            canvas.DrawBitmap(decoded, 0, 0);
            return rgba;
        }
    }

    /// <summary>Loads an image as a [3,H,W] tensor in [0,1].</summary>
    public static Tensor Load(string path)
    {
        using var bitmap = Decode(path);
        return ToTensor(bitmap);
    }

    public static Tensor ToTensor(SKBitmap rgba)
    {
        if (rgba.ColorType != SKColorType.Rgba8888) throw new ArgumentException("expected an RGBA8888 bitmap", nameof(rgba));
        int w = rgba.Width, h = rgba.Height, plane = w * h;
        ReadOnlySpan<byte> pixels = rgba.GetPixelSpan();
        int stride = rgba.RowBytes;
        var data = new float[3 * plane];
        for (int y = 0; y < h; y++)
        {
            var row = pixels.Slice(y * stride, w * 4);
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                data[i] = row[4 * x] / 255f;
                data[plane + i] = row[4 * x + 1] / 255f;
                data[2 * plane + i] = row[4 * x + 2] / 255f;
            }
        }
        return tensor(data, new long[] { 3, h, w });
    }

    /// <summary>A [3,H,W] tensor in [0,1] (values outside are clipped) as an RGBA bitmap.</summary>
    public static SKBitmap ToBitmap(Tensor image)
    {
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ArgumentException($"expected an image tensor [3,H,W], got [{string.Join(",", image.shape)}]", nameof(image));
        int h = (int)image.shape[1], w = (int)image.shape[2], plane = w * h;
        float[] data;
        using (var bytes = image.detach().to(CPU).to_type(ScalarType.Float32).clamp(0, 1).mul(255).round())
            data = bytes.data<float>().ToArray();
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[4 * plane];
        for (int i = 0; i < plane; i++)
        {
            pixels[4 * i] = (byte)data[i];
            pixels[4 * i + 1] = (byte)data[plane + i];
            pixels[4 * i + 2] = (byte)data[2 * plane + i];
            pixels[4 * i + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    /// <summary>Writes a [3,H,W] tensor as PNG, atomically.</summary>
    public static void SavePng(Tensor image, string path)
    {
        using var bitmap = ToBitmap(image);
        SavePng(bitmap, path);
    }

    public static void SavePng(SKBitmap bitmap, string path)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"PNG encoding failed for {path}");
        AtomicFile.Write(path, stream => data.SaveTo(stream));
    }

    /// <summary>
    /// The torchvision evaluation transform: resize the shorter side to <paramref name="resize"/>
    /// (bilinear), then take the centre <paramref name="crop"/> x <paramref name="crop"/> square.
    /// </summary>
    public static Tensor LoadResizedCentreCrop(string path, int resize = 256, int crop = 224)
    {
        using var source = Decode(path);
        double scale = (double)resize / Math.Min(source.Width, source.Height);
        int w = Math.Max(crop, (int)Math.Round(source.Width * scale));
        int h = Math.Max(crop, (int)Math.Round(source.Height * scale));
        if (source.Width <= source.Height) w = resize; else h = resize;
        var sampling = scale < 1 ? new SKSamplingOptions(SKCubicResampler.Mitchell) : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None);
        using var resized = source.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul), sampling)
            ?? throw new ReproInputException($"cannot resize image {path}");
        int left = (int)Math.Round((w - crop) / 2.0), top = (int)Math.Round((h - crop) / 2.0);
        using var cropped = new SKBitmap(new SKImageInfo(crop, crop, SKColorType.Rgba8888, SKAlphaType.Premul));
        if (!resized.ExtractSubset(cropped, new SKRectI(left, top, left + crop, top + crop)))
            throw new ReproInputException($"cannot crop image {path}");
        using var copy = cropped.Copy(SKColorType.Rgba8888);
        return ToTensor(copy);
    }
}
