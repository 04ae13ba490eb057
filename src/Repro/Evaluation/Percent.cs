using System.Globalization;

namespace Repro.Evaluation;

/// <summary>Fractions as percentages the way the README and the claims write them ("71.2%", no space).</summary>
public static class Percent
{
    public static string Of(double fraction, int decimals = 1) => (fraction * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";
}
