using System.Runtime.InteropServices;
using SkiaSharp;

namespace Repro.Data;

/// <summary>
/// A decoded image file and what the decoder did to it: its stored size, the EXIF orientation it
/// applied, whether transparent pixels were composited on white, and a note when it was decoded at a
/// reduced size to stay under the pixel limit.
/// </summary>
internal sealed record DecodedImage(Rgba8Image Image, int StoredWidth, int StoredHeight, SKEncodedOrigin Origin, bool HadTransparency, string? Note);

/// <summary>
/// Decodes users' image files (JPEG, PNG, BMP, WebP, GIF, ICO, WBMP: whatever SkiaSharp's
/// <see cref="SKCodec"/> reads) the way a photo viewer shows them, and refuses what a viewer would
/// show wrongly. Policies, documented in the README ("Your own photos") and <c>--help</c>:
/// <list type="bullet">
/// <item>Incomplete or corrupt files (<see cref="SKCodecResult.IncompleteInput"/>, <see cref="SKCodecResult.ErrorInInput"/>)
/// are refused with <see cref="ReproInputException"/> naming the file, never decoded with a black remainder.</item>
/// <item>The EXIF orientation (<see cref="SKCodec.EncodedOrigin"/>) is applied, so the pixels are upright as a viewer
/// shows them. (torchvision's PIL loader ignores it; on upright files both agree.)</item>
/// <item>Transparent pixels are composited on white, as browsers, viewers and most tools show them
/// (torchvision's <c>convert("RGB")</c> would keep the hidden colour of fully transparent pixels).</item>
/// <item>The pixel count the header declares is checked against <see cref="ImageDecodeOptions.MaxPixels"/> before any
/// pixel is decoded; over it, a JPEG is decoded at a reduced DCT scale that fits, anything else is refused.</item>
/// <item>Bytes are taken as stored (no ICC colour conversion), as PIL does. Animated files: the first frame.</item>
/// </list>
/// </summary>
internal static class ImageDecoder
{
    /// <summary>Decodes <paramref name="path"/> to an upright, opaque 8-bit RGB image.</summary>
    /// <exception cref="ReproInputException">The file is missing, unreadable, not an image, incomplete, corrupt or over the pixel limit.</exception>
    /// <exception cref="ReproEnvironmentException">The disk or memory failed while reading or decoding.</exception>
    public static DecodedImage Decode(string path, ImageDecodeOptions? options = null)
    {
        options ??= ImageDecodeOptions.Default;
        using var stream = Open(path);
        using var codec = SKCodec.Create(stream, out var created)
            ?? throw new ReproInputException($"cannot decode image {path}: {Describe(created)}");
        var info = codec.Info;
        int width = info.Width, height = info.Height;
        if (width < 1 || height < 1) throw new ReproInputException($"cannot decode image {path}: it declares a size of {width}x{height}");

        var (w, h) = (width, height);
        string? note = null;
        if ((long)width * height > options.MaxPixels)
        {
            var reduced = LargestReducedSize(codec, width, height, options.MaxPixels)
                ?? throw new ReproInputException($"image {path} is {width}x{height} ({Megapixels((long)width * height)}), over the limit of {Megapixels(options.MaxPixels)} " +
                                                 $"({nameof(options.MaxPixels)} {options.MaxPixels}); its format cannot be decoded at a reduced size: shrink it or raise {nameof(options.MaxPixels)}");
            (w, h) = (reduced.Width, reduced.Height);
            note = $"{path}: {width}x{height} is over {nameof(options.MaxPixels)} {options.MaxPixels}; decoded at {w}x{h} by JPEG scaling (close to, not exactly, a full decode)";
        }

        bool opaque = info.AlphaType == SKAlphaType.Opaque;
        // No colour space: the bytes as stored, as PIL gives them (no ICC conversion).
        var target = new SKImageInfo(w, h, SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        byte[] pixels;
        try { pixels = GC.AllocateUninitializedArray<byte>(checked(4 * w * h)); }
        catch (Exception e) when (e is OutOfMemoryException or OverflowException)
        {
            throw new ReproEnvironmentException($"not enough memory to decode image {path} ({w}x{h}); lower the decoding limit (ImageDecodeOptions.MaxPixels) or free memory", e);
        }
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(target, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        if (result != SKCodecResult.Success) throw new ReproInputException($"cannot decode image {path}: {Describe(result)}");

        bool transparent = !opaque && CompositeOnWhite(pixels);
        var origin = codec.EncodedOrigin;
        var upright = Orient(new Rgba8Image(w, h, pixels), origin);
        return new DecodedImage(upright, width, height, origin, transparent, note);
    }

    static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ReproInputException($"image file not found: {path}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ReproInputException($"cannot read image {path}: permission denied (or not a file)", e);
        }
        catch (IOException e)
        {
            throw new ReproEnvironmentException($"cannot read image {path}: {e.Message}", e);
        }
    }

    static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "incomplete image data: the file ends before the image does (truncated or partly downloaded)",
        SKCodecResult.ErrorInInput => "corrupt image data",
        SKCodecResult.Unimplemented => "not an image file SkiaSharp can decode (unsupported format, or not an image)",
        SKCodecResult.InvalidInput => "not a valid image file",
        _ => $"the decoder failed ({result})",
    };

    static string Megapixels(long pixels) => $"{pixels / 1e6:0.#} megapixels";

    /// <summary>The largest size among scales 7/8 ... 1/8 that the codec decodes natively (libjpeg's DCT scaling) and that fits the limit.</summary>
    static SKSizeI? LargestReducedSize(SKCodec codec, int width, int height, long maxPixels)
    {
        for (int eighths = 7; eighths >= 1; eighths--)
        {
            var size = codec.GetScaledDimensions(eighths / 8f);
            if ((size.Width < width || size.Height < height) && size.Width >= 1 && size.Height >= 1 && (long)size.Width * size.Height <= maxPixels)
                return size;
        }
        return null;
    }

    /// <summary>
    /// Composites unpremultiplied RGBA on white in place (out = c·a + 255·(1 − a), rounded) and sets
    /// alpha to 255. Returns whether any pixel was not opaque.
    /// </summary>
    static bool CompositeOnWhite(byte[] rgba)
    {
        bool any = false;
        for (long i = 0; i < rgba.LongLength; i += 4)
        {
            int a = rgba[i + 3];
            if (a == 255) continue;
            any = true;
            int white = 255 * (255 - a);
            for (int c = 0; c < 3; c++) rgba[i + c] = (byte)((rgba[i + c] * a + white + 127) / 255);
            rgba[i + 3] = 255;
        }
        return any;
    }

    /// <summary>
    /// The image as a viewer shows it for an EXIF orientation (TIFF/EXIF tag 0x0112): each origin
    /// names where the stored first row and first column appear (e.g. RightTop = 6: the first row is
    /// the right edge, the first column the top; the viewer turns the image 90° clockwise).
    /// </summary>
    public static Rgba8Image Orient(Rgba8Image stored, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft || (int)origin == 0) return stored;
        int w = stored.Width, h = stored.Height;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int outW = swap ? h : w, outH = swap ? w : h;
        var source = stored.Pixels;
        var result = GC.AllocateUninitializedArray<byte>(source.Length);
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
            {
                // (sx, sy): the stored pixel shown at (x, y).
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                long from = 4 * ((long)sy * w + sx), to = 4 * ((long)y * outW + x);
                result[to] = source[from];
                result[to + 1] = source[from + 1];
                result[to + 2] = source[from + 2];
                result[to + 3] = 255;
            }
        return new Rgba8Image(outW, outH, result);
    }
}
