using System.Globalization;

namespace Repro.Cli;

/// <summary>
/// Numeric command-line values parsed strictly (invariant culture): NaN is refused, a number that
/// overflows double (1e400) is refused rather than read as infinity, and infinity is accepted only
/// where it means something, spelled <c>inf</c> or <c>infinity</c>.
/// </summary>
internal static class NumberArgument
{
    /// <exception cref="ReproInputException">The text is not a number, is NaN, overflows, or is infinite where that is not allowed; names the option.</exception>
    public static double Parse(string option, string? text, bool allowInfinity = false)
    {
        string value = (text ?? "").Trim();
        if (value.ToLowerInvariant() is "inf" or "+inf" or "infinity" or "+infinity" or "∞")
            return allowInfinity ? double.PositiveInfinity : throw new ReproInputException($"{option} must be a finite number, got '{text}'");
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || double.IsNaN(number))
            throw new ReproInputException($"{option} must be a number, got '{text}'");
        if (double.IsInfinity(number))
            throw new ReproInputException($"{option} {text} is too large (it overflows to infinity)" + (allowInfinity ? $"; write {option} inf for no bound" : ""));
        return number;
    }

    /// <summary><see cref="Parse"/>, then requires a value > 0.</summary>
    public static double Positive(string option, string? text, bool allowInfinity = false)
    {
        double number = Parse(option, text, allowInfinity);
        if (!(number > 0)) throw new ReproInputException($"{option} must be > 0, got {text}");
        return number;
    }
}
