using Repro.Data;
using SkiaSharp;
using static TorchSharp.torch;

namespace Repro.Report;

/// <summary>One picture in a grid and the caption printed above it (e.g. "goldfish 97%").</summary>
internal sealed record GridCell(Tensor Image, string Caption);

/// <summary>One row of a grid, with an optional title printed above the row ("adversarial, eps 1.25").</summary>
internal sealed record GridRow(string? Title, IReadOnlyList<GridCell> Cells);

/// <summary>
/// Renders rows of images with a caption above each, the way the article shows originals above
/// their adversarial versions. Small images are enlarged with nearest-neighbour sampling so that
/// their pixels stay visible; captions use a real TrueType font at a legible size.
/// </summary>
internal static class ImageGrid
{
    const int Pad = 8, CaptionLines = 2;
    const float CaptionSize = 13f, TitleSize = 15f;

    public static SKBitmap Render(IReadOnlyList<GridRow> rows, string? title = null, int cellSize = 160)
    {
        if (rows.Count == 0) throw new ArgumentException("a grid needs at least one row", nameof(rows));
        int columns = rows.Max(r => r.Cells.Count);
        using var captionFont = new SKFont(Fonts.Regular, CaptionSize);
        using var titleFont = new SKFont(Fonts.Bold, TitleSize);
        int captionHeight = (int)Math.Ceiling(captionFont.Spacing * CaptionLines) + 2;
        int titleHeight = (int)Math.Ceiling(titleFont.Spacing) + 4;
        int width = Pad + columns * (cellSize + Pad);
        int height = Pad + (title != null ? titleHeight : 0)
            + rows.Sum(r => (r.Title != null ? titleHeight : 0) + captionHeight + cellSize + Pad);

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        float y = Pad;
        if (title != null)
        {
            canvas.DrawText(title, Pad, y - titleFont.Metrics.Ascent, SKTextAlign.Left, titleFont, ink);
            y += titleHeight;
        }
        foreach (var row in rows)
        {
            if (row.Title != null)
            {
                canvas.DrawText(row.Title, Pad, y - titleFont.Metrics.Ascent, SKTextAlign.Left, titleFont, ink);
                y += titleHeight;
            }
            for (int c = 0; c < row.Cells.Count; c++)
            {
                float x = Pad + c * (cellSize + Pad);
                var lines = Wrap(row.Cells[c].Caption, captionFont, cellSize, CaptionLines);
                for (int l = 0; l < lines.Count; l++)
                    canvas.DrawText(lines[l], x + cellSize / 2f, y - captionFont.Metrics.Ascent + l * captionFont.Spacing, SKTextAlign.Center, captionFont, ink);
                using var image = ImageFile.ToBitmap(row.Cells[c].Image);
                var sampling = image.Width < cellSize / 2 ? new SKSamplingOptions(SKFilterMode.Nearest) : new SKSamplingOptions(SKCubicResampler.Mitchell);
                using var skImage = SKImage.FromBitmap(image);
                canvas.DrawImage(skImage, new SKRect(x, y + captionHeight, x + cellSize, y + captionHeight + cellSize), sampling);
            }
            y += captionHeight + cellSize + Pad;
        }
        return bitmap;
    }

    public static void Save(string path, IReadOnlyList<GridRow> rows, string? title = null, int cellSize = 160)
    {
        using var bitmap = Render(rows, title, cellSize);
        ImageFile.SavePng(bitmap, path);
    }

    /// <summary>Breaks a caption into at most <paramref name="maxLines"/> lines that fit; the last is cut with an ellipsis.</summary>
    static List<string> Wrap(string text, SKFont font, float width, int maxLines)
    {
        var lines = new List<string>();
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string current = "";
        int i = 0;
        for (; i < words.Length; i++)
        {
            string candidate = current.Length == 0 ? words[i] : current + " " + words[i];
            if (font.MeasureText(candidate) <= width || current.Length == 0) { current = candidate; continue; }
            lines.Add(current);
            current = words[i];
            if (lines.Count == maxLines) break;
        }
        if (lines.Count < maxLines && current.Length > 0) { lines.Add(current); i = words.Length; }
        if (lines.Count > 0 && (i < words.Length || font.MeasureText(lines[^1]) > width))
        {
            string last = lines[^1];
            while (last.Length > 1 && font.MeasureText(last + "…") > width) last = last[..^1];
            lines[^1] = last + (i < words.Length || last != lines[^1] ? "…" : "");
        }
        return lines;
    }
}
