namespace Repro.Data;

/// <summary>
/// torchvision's ImageNet evaluation transform on PIL images, <c>Resize(256)</c> then
/// <c>CenterCrop(224)</c>, reproduced exactly (torchvision 0.14, Pillow 9.4; checked byte for byte
/// against crops torchvision computed, <c>tests/Unit/Data/fixtures/torchvision-crops</c>):
/// the shorter side becomes <c>resize</c> and the longer <c>int(resize * long / short)</c>
/// (truncated, as torchvision's <c>_compute_resized_output_size</c> does), resampled with PIL's
/// antialiased bilinear filter (<see cref="PilBilinear"/>); an image already at that size is left
/// alone; the crop starts at <c>int(round((size - crop) / 2.0))</c>, Python's round (half to even).
/// </summary>
internal static class EvaluationTransform
{
    /// <summary>The resized size torchvision computes for an image of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static (long Width, long Height) ResizedSize(int width, int height, int resize)
    {
        int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
        // Python: int(requested_new_short * long / short): an integer product, a float division, truncation.
        long newLong = (long)((double)((long)resize * longSide) / shortSide);
        return width <= height ? (resize, newLong) : (newLong, resize);
    }

    /// <summary>Python 3's int(round((size - crop) / 2.0)): round half to even.</summary>
    public static long CropStart(long size, int crop) => (long)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);

    /// <summary>
    /// Resize the shorter side to <paramref name="resize"/> and take the centre <paramref name="crop"/> square.
    /// Needs <paramref name="crop"/> &lt;= <paramref name="resize"/> (torchvision would pad; nothing here asks for it).
    /// </summary>
    /// <exception cref="ReproInputException">The image's aspect ratio is so extreme that the resized long side overflows (named by size).</exception>
    public static Rgba8Image ResizeCentreCrop(Rgba8Image image, int resize = 256, int crop = 224)
    {
        if (crop < 1 || crop > resize) throw new ArgumentOutOfRangeException(nameof(crop), $"crop {crop} must be between 1 and resize {resize}");
        var (w, h) = ResizedSize(image.Width, image.Height, resize);
        if (w > int.MaxValue || h > int.MaxValue)
            throw new ReproInputException($"a {image.Width}x{image.Height} image would be resized to {w}x{h}: aspect ratio too extreme");
        long left = CropStart(w, crop), top = CropStart(h, crop);
        if (w == image.Width && h == image.Height) return Crop(image, (int)left, (int)top, crop);
        return PilBilinear.ResizeWindow(image, w, h, left, top, crop, crop);
    }

    static Rgba8Image Crop(Rgba8Image image, int left, int top, int crop)
    {
        var pixels = new byte[4 * crop * crop];
        for (int y = 0; y < crop; y++)
            Array.Copy(image.Pixels, 4L * ((long)(top + y) * image.Width + left), pixels, 4L * y * crop, 4L * crop);
        return new Rgba8Image(crop, crop, pixels);
    }
}
