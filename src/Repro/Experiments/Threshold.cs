namespace Repro.Experiments;

/// <summary>
/// A bound a measured figure must respect for a claim to hold, written once beside the claim so
/// that the claim test and the report judge by the same number.
/// </summary>
internal sealed record Threshold(string Quantity, string Comparison, double Bound, string Unit = "")
{
    public static Threshold AtLeast(string quantity, double bound, string unit = "") => new(quantity, ">=", bound, unit);
    public static Threshold AtMost(string quantity, double bound, string unit = "") => new(quantity, "<=", bound, unit);

    public bool HeldBy(double measured) => !double.IsNaN(measured) && (Comparison == ">=" ? measured >= Bound : measured <= Bound);

    /// <summary>A measurement of this quantity, judged against this threshold.</summary>
    public Check Measure(double measured, string articleSays) => new(this, measured, articleSays);

    public override string ToString() => $"{Quantity} {Comparison} {Format(Bound, Unit)}";

    public static string Format(double value, string unit) => unit switch
    {
        "%" => $"{value * 100:F1}%",
        "" => $"{value:G4}",
        _ => $"{value:G4} {unit}",
    };
}

/// <summary>One measured figure of a claim, what the article says about it, and whether it meets its threshold.</summary>
internal sealed record Check(Threshold Threshold, double Measured, string ArticleSays)
{
    public bool Holds => Threshold.HeldBy(Measured);
    public override string ToString() =>
        $"{(Holds ? "PASS" : "FAIL")}  {Threshold.Quantity}: measured {Threshold.Format(Measured, Threshold.Unit)} (need {Threshold.Comparison} {Threshold.Format(Threshold.Bound, Threshold.Unit)}; article: {ArticleSays})";
}
