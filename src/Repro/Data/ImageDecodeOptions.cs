namespace Repro.Data;

/// <summary>
/// Limits on decoding a user's image file. The pixel limit is checked against the size the file's
/// header declares, before any pixel is decoded, so no file (a "decompression bomb" of a few KB that
/// declares 60000x60000 pixels, or a 200-megapixel panorama) can exhaust memory.
/// </summary>
public sealed record ImageDecodeOptions
{
    /// <summary>
    /// 100 megapixels: above every phone and most camera photos (12-50 MP), about 400 MB while
    /// decoding (4 bytes a pixel) plus as much again when an EXIF rotation is applied. PIL's own
    /// decompression-bomb warning starts at 89.5 MP.
    /// </summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>The largest limit accepted: a decoded image is one .NET array of 4 bytes a pixel (at most 2^31 bytes).</summary>
    public const long LargestMaxPixels = 500_000_000;

    /// <summary>
    /// Most pixels (width x height) an image may be decoded at. A larger JPEG is decoded at the
    /// largest of libjpeg's reduced scales (7/8 ... 1/8) that fits, and says so; a larger image of
    /// any other format is refused.
    /// </summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>The defaults: <see cref="DefaultMaxPixels"/>.</summary>
    public static ImageDecodeOptions Default { get; } = new();

    /// <summary>
    /// How many of a user's images to decode at once so that at most about 4 GB of decoding buffers
    /// are in use even when every image is at the limit (8 bytes a pixel: the decoded pixels and a
    /// rotated copy): 5 at the default limit, more for smaller limits, never more than the processor count.
    /// </summary>
    public int ParallelDecodes => (int)Math.Clamp(4_000_000_000 / (8 * MaxPixels), 1, Environment.ProcessorCount);

    /// <summary>Throws <see cref="ReproInputException"/> naming <paramref name="option"/> when the limit is out of range.</summary>
    public void Validate(string option = nameof(MaxPixels))
    {
        if (MaxPixels < 1 || MaxPixels > LargestMaxPixels)
            throw new ReproInputException($"{option} must be between 1 and {LargestMaxPixels}, got {MaxPixels}");
    }
}
