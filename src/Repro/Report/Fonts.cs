using SkiaSharp;

namespace Repro.Report;

/// <summary>
/// Finds a TrueType font on the machine. The SkiaSharp native build that TorchVision brings has no
/// fontconfig, so family names do not resolve; we load a font file by path instead (DejaVu Sans ships
/// with Debian's stock fonts-dejavu-core), then any .ttf in the usual folders, and SkiaSharp's default
/// typeface where there is none. Image grids draw with it and charts register the same file (<see cref="Plots"/>).
/// </summary>
internal static class Fonts
{
    static readonly Lazy<SKTypeface> _regular = new(() => Find(bold: false));
    static readonly Lazy<SKTypeface> _bold = new(() => Find(bold: true));

    public static SKTypeface Regular => _regular.Value;
    public static SKTypeface Bold => _bold.Value;

    static readonly string[] Folders = ["/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts", @"C:\Windows\Fonts"];

    /// <summary>The file of the font <see cref="Regular"/> (or <see cref="Bold"/>) comes from, or null when none was found (for libraries that load fonts by file: ScottPlot).</summary>
    public static string? File(bool bold) => (bold ? _boldFile : _regularFile).Value;

    static readonly Lazy<string?> _regularFile = new(() => FindFile(bold: false));
    static readonly Lazy<string?> _boldFile = new(() => FindFile(bold: true));

    static string? FindFile(bool bold)
    {
        string[] preferred = bold
            ? ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf"]
            : ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf"];
        var files = Folders.Where(Directory.Exists).SelectMany(f => SafeEnumerate(f)).ToList();
        return preferred.Select(name => files.FirstOrDefault(f => string.Equals(Path.GetFileName(f), name, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(f => f != null)
            ?? files.Where(f => f.EndsWith(".ttf", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).FirstOrDefault();
    }

    // The same file ScottPlot's figures register (Plots), so every figure has one font.
    static SKTypeface Find(bool bold) => File(bold) is string file && SKTypeface.FromFile(file) is { } face ? face : SKTypeface.Default;

    static List<string> SafeEnumerate(string folder)
    {
        try { return Directory.EnumerateFiles(folder, "*.tt*", SearchOption.AllDirectories).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
