using Repro.Data;
using SkiaSharp;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// The own-image cases of issue 13 (<c>../shared/cases/own-images/</c>, README there), each copied
/// into a fresh temporary folder. Where the shared folder is absent (a fresh clone), equivalent
/// inputs are generated here with SkiaSharp, so the tests run everywhere; which source was used is
/// printed. Also the generators for fresh inputs of every kind (truncation, EXIF orientation,
/// transparency, OS litter).
/// </summary>
internal static class OwnImageCases
{
    /// <summary>The shared cases folder if present: beside the data root (…/shared/data → …/shared/cases) or beside the checkout.</summary>
    public static string? SharedFolder()
    {
        string[] candidates =
        [
            Path.Combine(TestData.Paths.DataRoot, "..", "cases", "own-images"),
            // tests/Unit/bin/<config>/<tfm>/<rid>/ -> the folder that holds the checkout
            Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..", "..", "shared", "cases", "own-images"),
        ];
        return candidates.Select(Path.GetFullPath).FirstOrDefault(Directory.Exists);
    }

    /// <summary>A fresh temporary folder holding the case's files (copied from the shared folder, or generated).</summary>
    public static string Folder(string name)
    {
        string dir = TestData.TempFolder();
        string? shared = SharedFolder() is string s && Directory.Exists(Path.Combine(s, name)) ? Path.Combine(s, name) : null;
        if (shared is not null)
        {
            foreach (var f in Directory.GetFiles(shared)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            TestContext.Out.WriteLine($"case {name}: copied from {shared}");
            return dir;
        }
        TestContext.Out.WriteLine($"case {name}: shared cases absent, generated equivalent inputs");
        switch (name)
        {
            case "s01-clash":
                File.WriteAllBytes(Path.Combine(dir, "cat.jpg"), Encode(Photo(227, 227), SKEncodedImageFormat.Jpeg));
                File.WriteAllBytes(Path.Combine(dir, "cat.png"), Encode(Photo(227, 227), SKEncodedImageFormat.Png));
                break;
            case "s03-trunc":
                File.WriteAllBytes(Path.Combine(dir, "trunc60.jpg"), Truncate(Encode(Photo(227, 227), SKEncodedImageFormat.Jpeg), 0.6));
                File.WriteAllBytes(Path.Combine(dir, "trunc60.png"), Truncate(Encode(Photo(227, 227), SKEncodedImageFormat.Png), 0.6));
                break;
            case "s04-exif":
                File.WriteAllBytes(Path.Combine(dir, "redleft_orient6.jpg"), WithExifOrientation(Encode(RedLeftBlueRight(640, 480), SKEncodedImageFormat.Jpeg), 6));
                break;
            case "s12-litter":
                WriteLitter(dir);
                break;
            case "s13-alpha":
                File.WriteAllBytes(Path.Combine(dir, "logo_transparent.png"), Encode(TransparentLogo(227), SKEncodedImageFormat.Png));
                break;
            default: throw new ArgumentException($"no such case: {name}");
        }
        return dir;
    }

    /// <summary>macOS and Windows litter: an AppleDouble companion, .DS_Store, Thumbs.db, desktop.ini, __MACOSX/, plus a text file.</summary>
    public static void WriteLitter(string dir)
    {
        // AppleDouble header (magic 0x00051607, version 2), as macOS writes beside files on non-Apple disks.
        var appleDouble = new byte[4096];
        new byte[] { 0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00 }.CopyTo(appleDouble, 0);
        File.WriteAllBytes(Path.Combine(dir, "._IMG_0001.jpg"), appleDouble);
        File.WriteAllBytes(Path.Combine(dir, ".DS_Store"), [0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]);
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "my notes");
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 90)
    {
        using (bitmap)
        using (var data = bitmap.Encode(format, quality))
            return data.ToArray();
    }

    public static byte[] Truncate(byte[] bytes, double fraction) => bytes[..(int)(bytes.Length * fraction)];

    /// <summary>A photo-like image: gradients plus seeded noise (so the encoded file has data throughout).</summary>
    public static SKBitmap Photo(int w, int h, int seed = 1)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[4 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = 4 * (y * w + x);
                pixels[i] = (byte)Math.Clamp(255 * x / w + random.Next(-20, 21), 0, 255);
                pixels[i + 1] = (byte)Math.Clamp(255 * y / h + random.Next(-20, 21), 0, 255);
                pixels[i + 2] = (byte)Math.Clamp(128 + random.Next(-60, 61), 0, 255);
                pixels[i + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    /// <summary>Stored left half red (220,30,30), right half blue (30,30,220).</summary>
    public static SKBitmap RedLeftBlueRight(int w, int h)
    {
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        using var red = new SKPaint { Color = new SKColor(220, 30, 30) };
        using var blue = new SKPaint { Color = new SKColor(30, 30, 220) };
        canvas.DrawRect(0, 0, w / 2f, h, red);
        canvas.DrawRect(w / 2f, 0, w / 2f, h, blue);
        return bitmap;
    }

    /// <summary>Four quadrants of distinct colours (top-left red, top-right green, bottom-left blue, bottom-right yellow).</summary>
    public static SKBitmap Quadrants(int w, int h)
    {
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        void Fill(float x, float y, SKColor c) { using var p = new SKPaint { Color = c }; canvas.DrawRect(x, y, w / 2f, h / 2f, p); }
        Fill(0, 0, QuadrantColours[0]);
        Fill(w / 2f, 0, QuadrantColours[1]);
        Fill(0, h / 2f, QuadrantColours[2]);
        Fill(w / 2f, h / 2f, QuadrantColours[3]);
        return bitmap;
    }

    public static readonly SKColor[] QuadrantColours = [new(230, 20, 20), new(20, 200, 20), new(20, 20, 230), new(230, 230, 20)];

    /// <summary>Transparent (0,0,0,0) background, an opaque orange disk in the middle, and a half-transparent blue band along the bottom.</summary>
    public static SKBitmap TransparentLogo(int side)
    {
        var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = new byte[4 * side * side];
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                int i = 4 * (y * side + x);
                double r = Math.Sqrt(Math.Pow(x - side / 2.0, 2) + Math.Pow(y - side / 2.0, 2));
                if (r < side / 4.0) (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = ((byte)255, (byte)140, (byte)0, (byte)255);
                else if (y >= side - 10) (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = ((byte)0, (byte)0, (byte)255, (byte)128);
            }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    /// <summary>
    /// The JPEG with an EXIF APP1 segment holding only Orientation (tag 0x0112) inserted after SOI:
    /// "Exif\0\0", a big-endian TIFF header, one IFD entry (SHORT), no next IFD.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        if (jpeg[0] != 0xFF || jpeg[1] != 0xD8) throw new ArgumentException("not a JPEG");
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // header, IFD at offset 8
            0x00, 0x01,                                               // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,           // Orientation, SHORT, count 1
            0x00, (byte)orientation, 0x00, 0x00,                      // value
            0x00, 0x00, 0x00, 0x00,                                   // no next IFD
        ];
        byte[] exif = [.. "Exif\0\0"u8.ToArray(), .. tiff];
        int length = exif.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. exif];
        return [jpeg[0], jpeg[1], .. app1, .. jpeg[2..]];
    }

    /// <summary>
    /// A small PNG whose header declares <paramref name="width"/> x <paramref name="height"/> 8-bit RGB
    /// pixels, followed by the start of its compressed zero rows and an end chunk: the shape of a
    /// decompression bomb (a real one compresses 10.8 GB of zeros into ~10 MB).
    /// </summary>
    public static byte[] PngBomb(int width, int height)
    {
        var ihdr = new byte[13];
        ihdr[0] = (byte)(width >> 24); ihdr[1] = (byte)(width >> 16); ihdr[2] = (byte)(width >> 8); ihdr[3] = (byte)width;
        ihdr[4] = (byte)(height >> 24); ihdr[5] = (byte)(height >> 16); ihdr[6] = (byte)(height >> 8); ihdr[7] = (byte)height;
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        var zeros = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(zeros, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
            z.Write(new byte[100_000]);
        return [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. Chunk("IHDR", ihdr), .. Chunk("IDAT", zeros.ToArray()), .. Chunk("IEND", [])];
    }

    static byte[] Chunk(string type, byte[] data)
    {
        byte[] typed = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        uint crc = Crc32(typed);
        int n = data.Length;
        return [(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n, .. typed, (byte)(crc >> 24), (byte)(crc >> 16), (byte)(crc >> 8), (byte)crc];
    }

    static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The decoded image's pixel (x, y) as (R, G, B).</summary>
    public static (int R, int G, int B) Pixel(Rgba8Image image, int x, int y) => (image[x, y, 0], image[x, y, 1], image[x, y, 2]);
}
