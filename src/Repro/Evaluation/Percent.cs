using System.Globalization;

namespace Repro.Evaluation;

/// <summary>Fractions as percentages the way the README and the claims write them ("71.2%", no space).</summary>
public static class Percent
{
    /// <summary>A fraction (0.712) as a percentage ("71.2%"), invariant culture, with <paramref name="decimals"/> decimals.</summary>
    public static string Of(double fraction, int decimals = 1) => (fraction * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";
}
