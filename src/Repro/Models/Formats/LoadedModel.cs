using static TorchSharp.torch;

namespace Repro.Models.Formats;

/// <summary>
/// A model ready for attacks and explanations: the module (images [N,C,H,W] in [0,1] to logits
/// [N, classes], normalisation inside), the image size it takes, its class names, and what was
/// decided while loading it (preprocessing and its source, dropped softmax or background class), to
/// be shown to the user.
/// </summary>
public sealed record LoadedModel(
    string Name,
    ModelFormat Format,
    nn.Module<Tensor, Tensor> Module,
    (int C, int H, int W) Input,
    ClassLabels Classes,
    string Preprocessing,
    IReadOnlyList<string> Notes) : IDisposable
{
    /// <summary>Lines for the console: the model, its preprocessing, and every note.</summary>
    public IEnumerable<string> Describe()
    {
        yield return $"model: {Name} ({Format}, input {Input.C}x{Input.H}x{Input.W}, {Classes.Count} classes, labels {Classes.Origin})";
        yield return $"preprocessing: {Preprocessing}";
        foreach (var note in Notes) yield return $"note: {note}";
    }

    /// <summary>Disposes <see cref="Module"/>.</summary>
    public void Dispose() => Module.Dispose();
}
