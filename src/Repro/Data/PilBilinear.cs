namespace Repro.Data;

/// <summary>
/// PIL's antialiased bilinear resize of 8-bit RGB images (<c>Image.resize(size, BILINEAR)</c>,
/// Pillow's <c>libImaging/Resample.c</c>), reproduced operation for operation so that results are
/// byte-identical: a triangle filter whose support is widened by the downscale factor (that is the
/// antialiasing), coefficients normalised per output pixel and rounded to 22-bit fixed point, a
/// horizontal pass rounded to 8 bits, then a vertical pass. torchvision's <c>Resize</c> on PIL
/// images calls exactly this. Only a window of the output is computed (every output pixel depends
/// on its own coordinates alone), so a centre crop never materialises a huge resized image.
/// </summary>
internal static class PilBilinear
{
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Per output pixel of a window: first input index, count, and fixed-point weights (KernelSize per output).</summary>
    sealed record Coefficients(int[] First, int[] Count, int[] Weights, int KernelSize);

    /// <summary>
    /// The window [<paramref name="left"/>, +<paramref name="cropWidth"/>) x [<paramref name="top"/>, +<paramref name="cropHeight"/>)
    /// of <paramref name="image"/> resized to <paramref name="outWidth"/> x <paramref name="outHeight"/>.
    /// </summary>
    public static Rgba8Image ResizeWindow(Rgba8Image image, long outWidth, long outHeight, long left, long top, int cropWidth, int cropHeight)
    {
        if (outWidth < 1 || outHeight < 1 || outWidth > int.MaxValue || outHeight > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(outWidth), $"resized size {outWidth}x{outHeight} is out of range");
        if (left < 0 || top < 0 || left + cropWidth > outWidth || top + cropHeight > outHeight)
            throw new ArgumentOutOfRangeException(nameof(left), $"window {cropWidth}x{cropHeight} at ({left},{top}) is outside {outWidth}x{outHeight}");
        var horizontal = Precompute(image.Width, (int)outWidth, (int)left, cropWidth);
        var vertical = Precompute(image.Height, (int)outHeight, (int)top, cropHeight);

        // Input rows the vertical pass needs; the horizontal pass runs on those rows only.
        int firstRow = vertical.First[0];
        int lastRow = vertical.First[cropHeight - 1] + vertical.Count[cropHeight - 1];
        var temp = new byte[4L * cropWidth * (lastRow - firstRow)];
        Horizontal(image, firstRow, lastRow, horizontal, temp, cropWidth);
        var output = new byte[4L * cropWidth * cropHeight];
        Vertical(temp, cropWidth, firstRow, vertical, output, cropHeight);
        return new Rgba8Image(cropWidth, cropHeight, output);
    }

    /// <summary>Pillow's precompute_coeffs for BILINEAR (support 1) over box [0, inSize), for outputs first..first+count.</summary>
    static Coefficients Precompute(int inSize, int outSize, int first, int count)
    {
        // Pillow keeps the box in single precision: (double)(in1 - in0) with float in0 = 0, in1 = inSize.
        double scale = (double)(float)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 1.0 * filterScale;
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        var firsts = new int[count];
        var counts = new int[count];
        var weights = new int[count * kernelSize];
        var k = new double[kernelSize];
        for (int i = 0; i < count; i++)
        {
            int xx = first + i;
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = (int)(center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++)
            {
                double w = Triangle((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++)
                if (ww != 0.0) k[x] /= ww;
            for (int x = 0; x < kernelSize; x++)
            {
                double v = x < xmax ? k[x] : 0.0;
                // normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point.
                weights[i * kernelSize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
            }
            firsts[i] = xmin;
            counts[i] = xmax;
        }
        return new Coefficients(firsts, counts, weights, kernelSize);
    }

    static double Triangle(double x)
    {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /// <summary>Pillow's clip8: the fixed-point sum shifted down and clamped to a byte.</summary>
    static byte Clip8(int value)
    {
        int v = value >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    static void Horizontal(Rgba8Image image, int firstRow, int lastRow, Coefficients c, byte[] temp, int cropWidth)
    {
        var input = image.Pixels;
        Parallel.For(firstRow, lastRow, y =>
        {
            long inRow = 4L * y * image.Width;
            long outRow = 4L * (y - firstRow) * cropWidth;
            for (int xx = 0; xx < cropWidth; xx++)
            {
                int xmin = c.First[xx], n = c.Count[xx], kOffset = xx * c.KernelSize;
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < n; x++)
                {
                    int w = c.Weights[kOffset + x];
                    long p = inRow + 4L * (x + xmin);
                    s0 += input[p] * w;
                    s1 += input[p + 1] * w;
                    s2 += input[p + 2] * w;
                }
                long o = outRow + 4L * xx;
                temp[o] = Clip8(s0);
                temp[o + 1] = Clip8(s1);
                temp[o + 2] = Clip8(s2);
                temp[o + 3] = 255;
            }
        });
    }

    static void Vertical(byte[] temp, int width, int firstRow, Coefficients c, byte[] output, int cropHeight)
    {
        for (int yy = 0; yy < cropHeight; yy++)
        {
            int ymin = c.First[yy] - firstRow, n = c.Count[yy], kOffset = yy * c.KernelSize;
            for (int xx = 0; xx < width; xx++)
            {
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int y = 0; y < n; y++)
                {
                    int w = c.Weights[kOffset + y];
                    long p = 4L * ((long)(y + ymin) * width + xx);
                    s0 += temp[p] * w;
                    s1 += temp[p + 1] * w;
                    s2 += temp[p + 2] * w;
                }
                long o = 4L * ((long)yy * width + xx);
                output[o] = Clip8(s0);
                output[o + 1] = Clip8(s1);
                output[o + 2] = Clip8(s2);
                output[o + 3] = 255;
            }
        }
    }
}
