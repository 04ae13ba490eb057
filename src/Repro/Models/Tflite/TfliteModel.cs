namespace Repro.Models.Tflite;

/// <summary>
/// The parts of a TensorFlow Lite file the importer needs: the main subgraph's tensors, its
/// operators in execution order, and its input and output tensor indices. <see cref="Source"/>
/// (the file path) is named in every error about the model.
/// </summary>
internal sealed record TfliteModel(string Source, uint Version, IReadOnlyList<TfliteTensor> Tensors, IReadOnlyList<TfliteOperator> Operators, int[] Inputs, int[] Outputs)
{
    /// <summary>How many operators of each kind the graph has.</summary>
    public IReadOnlyDictionary<TfliteOperatorCode, int> OperatorCounts() =>
        Operators.GroupBy(o => o.Code).ToDictionary(g => g.Key, g => g.Count());
}
