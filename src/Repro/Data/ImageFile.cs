using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Data;

/// <summary>
/// Image files to and from tensors. Tensors are float32 [3,H,W] RGB in [0,1]; <see cref="ImageDecoder"/>
/// decodes (SkiaSharp: JPEG, PNG, ...), SkiaSharp encodes PNG. Writes are atomic: a temp file, then a rename.
/// </summary>
public static class ImageFile
{
    /// <summary>
    /// Decodes an image file as an opaque 8-bit RGBA bitmap, upright and composited on white
    /// (<see cref="ImageDecoder"/>: incomplete, corrupt and oversized files are refused naming the file).
    /// </summary>
    public static SKBitmap Decode(string path, ImageDecodeOptions? options = null)
    {
        var image = ImageDecoder.Decode(path, options).Image;
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(image.Pixels, 0, bitmap.GetPixels(), image.Pixels.Length);
        return bitmap;
    }

    /// <summary>Loads an image file as a [3,H,W] tensor in [0,1] (<see cref="ImageDecoder"/>'s policies).</summary>
    public static Tensor Load(string path, ImageDecodeOptions? options = null) => ImageDecoder.Decode(path, options).Image.ToTensor();

    /// <summary>An RGBA8888 bitmap as a float32 [3,H,W] RGB tensor in [0,1] (alpha dropped).</summary>
    /// <exception cref="ArgumentException">The bitmap is not RGBA8888.</exception>
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

    /// <summary>Encodes <paramref name="bitmap"/> as PNG and writes it to <paramref name="path"/> atomically.</summary>
    /// <exception cref="InvalidOperationException">PNG encoding failed.</exception>
    public static void SavePng(SKBitmap bitmap, string path)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"PNG encoding failed for {path}");
        AtomicFile.Write(path, stream => data.SaveTo(stream));
    }

    /// <summary>
    /// The torchvision evaluation transform of an image file (<see cref="EvaluationTransform"/>:
    /// shorter side to <paramref name="resize"/> with PIL's antialiased bilinear filter, centre
    /// <paramref name="crop"/> square), as a [3,crop,crop] tensor in [0,1] on the 8-bit grid.
    /// </summary>
    public static Tensor LoadResizedCentreCrop(string path, int resize = 256, int crop = 224, ImageDecodeOptions? options = null) =>
        EvaluationTransform.ResizeCentreCrop(ImageDecoder.Decode(path, options).Image, resize, crop).ToTensor();
}
