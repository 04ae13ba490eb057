using System.Text.Json.Serialization;

namespace Repro.Evaluation;

/// <summary>
/// One row of a robustness evaluation: one example at one eps after one attack stage (the attacks
/// in the order they ran). Every table, plot, flag and merge is computed from these rows; written as
/// <c>records.parquet</c> with the snake_case column names below (readable by pandas, DuckDB, Arrow).
/// A row depends on its example, the model, the settings and the seed only: never on the other
/// examples of its batch or shard.
/// </summary>
public sealed class RobustnessRecord
{
    /// <summary>The example's id (dataset index, or a hash of its relative file path): with the seed it keys its random numbers and decides its shard.</summary>
    [JsonPropertyName("example_id")] public long ExampleId { get; set; }
    /// <summary>Where the example came from: "cifar10/test/123", an ImageNet or folder file path relative to its root.</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>The true label: an index into the model's class names.</summary>
    [JsonPropertyName("label")] public int Label { get; set; }
    /// <summary>The radius of this row, in [0,1] pixel units.</summary>
    [JsonPropertyName("eps")] public double Eps { get; set; }
    /// <summary>0-based position of the attack stage in the order the attacks ran.</summary>
    [JsonPropertyName("stage")] public int Stage { get; set; }
    /// <summary>The attack of this stage (apgd-ce, square, ...).</summary>
    [JsonPropertyName("attack")] public string Attack { get; set; } = "";
    /// <summary>The model's prediction on the clean image.</summary>
    [JsonPropertyName("clean_prediction")] public int CleanPrediction { get; set; }
    /// <summary>The prediction on the example's current adversarial image (the one that fooled it, or this stage's attempt; the clean prediction when never attacked).</summary>
    [JsonPropertyName("adversarial_prediction")] public int AdversarialPrediction { get; set; }
    /// <summary>Whether this stage's attack ran on the example (false: misclassified clean, or already fooled at this or a smaller eps).</summary>
    [JsonPropertyName("attacked")] public bool Attacked { get; set; }
    /// <summary>The example is misclassified within this eps after this stage and the earlier ones (not robust): the worst case so far.</summary>
    [JsonPropertyName("success")] public bool Success { get; set; }
    /// <summary>"clean" when misclassified without attack, else the attack that first fooled it; null while robust.</summary>
    [JsonPropertyName("first_fooled_by")] public string? FirstFooledBy { get; set; }
    /// <summary>The eps at which it was first fooled (0 for a clean misclassification; smaller than <see cref="Eps"/> when carried over from a smaller ball); null while robust.</summary>
    [JsonPropertyName("fooled_at_eps")] public double? FooledAtEps { get; set; }
    /// <summary>L2 norm of the current adversarial image minus the clean one, in [0,1] pixel units.</summary>
    [JsonPropertyName("l2")] public float L2 { get; set; }
    /// <summary>L-infinity norm of the current adversarial image minus the clean one, in [0,1] pixel units.</summary>
    [JsonPropertyName("linf")] public float Linf { get; set; }
    /// <summary>Logit margin at the current adversarial image: the label's logit minus the largest other (negative: misclassified).</summary>
    [JsonPropertyName("margin")] public float Margin { get; set; }
    /// <summary>This example's share of the attack call's wall-clock time (0 when not attacked); the only column that differs between identical runs.</summary>
    [JsonPropertyName("seconds")] public double Seconds { get; set; }

    /// <summary>Sanity probe (examples of the sanity sample only, else null): the smallest model output on the clean image.</summary>
    [JsonPropertyName("probe_output_min")] public float? ProbeOutputMin { get; set; }
    /// <summary>Sanity probe: the largest model output on the clean image.</summary>
    [JsonPropertyName("probe_output_max")] public float? ProbeOutputMax { get; set; }
    /// <summary>Sanity probe: |sum of the outputs − 1| on the clean image (near 0: probabilities).</summary>
    [JsonPropertyName("probe_sum_error")] public float? ProbeSumError { get; set; }
    /// <summary>Sanity probe: the input gradient of the logit margin is exactly zero.</summary>
    [JsonPropertyName("probe_zero_gradient")] public bool? ProbeZeroGradient { get; set; }
    /// <summary>Sanity probe: largest L2 change of the normalised outputs between identical calls.</summary>
    [JsonPropertyName("probe_output_change")] public float? ProbeOutputChange { get; set; }
    /// <summary>Sanity probe: the prediction changed between identical calls.</summary>
    [JsonPropertyName("probe_prediction_changed")] public bool? ProbePredictionChanged { get; set; }
    /// <summary>Sanity probe (correctly classified examples of the unbounded sample only): an unbounded attack fooled it.</summary>
    [JsonPropertyName("unbounded_fooled")] public bool? UnboundedFooled { get; set; }

    /// <summary>A copy with <see cref="Seconds"/> set to 0: what must be equal bit for bit between two runs of the same evaluation.</summary>
    public RobustnessRecord WithoutTiming()
    {
        var copy = (RobustnessRecord)MemberwiseClone();
        copy.Seconds = 0;
        return copy;
    }

    /// <summary>Every column except <see cref="Seconds"/>, as text with floats in round-trip form (for comparisons and checksums).</summary>
    public string Key() => string.Join('\t', ExampleId, Source, Label, R(Eps), Stage, Attack, CleanPrediction, AdversarialPrediction, Attacked, Success,
        FirstFooledBy ?? "-", FooledAtEps is double f ? R(f) : "-", R(L2), R(Linf), R(Margin),
        O(ProbeOutputMin), O(ProbeOutputMax), O(ProbeSumError), ProbeZeroGradient?.ToString() ?? "-", O(ProbeOutputChange), ProbePredictionChanged?.ToString() ?? "-",
        UnboundedFooled?.ToString() ?? "-");

    static string R(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    static string R(float v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    static string O(float? v) => v is float f ? R(f) : "-";
}
