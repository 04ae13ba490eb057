namespace Repro.Models.Tflite;

/// <summary>
/// One operator of the graph, in the file's execution order: what it is, the tensor indices it
/// reads and writes (-1 = an omitted optional input, such as a missing bias) and its options
/// (null for operators the importer does not read options of).
/// </summary>
internal sealed record TfliteOperator(int Index, TfliteOperatorCode Code, string? CustomCode, int[] Inputs, int[] Outputs, TfliteOptions? Options)
{
    public string Describe() =>
        $"operator {Index} ({(Code == TfliteOperatorCode.CUSTOM && CustomCode != null ? $"CUSTOM '{CustomCode}'" : TfliteNames.Of(Code))})";
}
