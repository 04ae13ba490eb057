namespace Repro.Models.Formats;

/// <summary>
/// What the user says about a model file where the file itself does not (the command line's
/// --input-size, --mean, --std, --labels, --channels-last, --output). Null means "from the file,
/// else the default": input 224x224, ImageNet mean and std, channels first, numbered classes.
/// </summary>
public sealed record ModelImportOptions
{
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];
    public const int DefaultInputSize = 224;

    public (int Height, int Width)? InputSize { get; init; }
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
    public string? LabelsPath { get; init; }
    public bool? ChannelsLast { get; init; }
    public string? OutputName { get; init; }

    public bool IsEmpty => this == new ModelImportOptions();

    /// <summary>The options given, by their command-line names, for messages.</summary>
    public IEnumerable<string> Given()
    {
        if (InputSize is not null) yield return "--input-size";
        if (Mean is not null) yield return "--mean";
        if (Std is not null) yield return "--std";
        if (LabelsPath is not null) yield return "--labels";
        if (ChannelsLast is not null) yield return "--channels-last";
        if (OutputName is not null) yield return "--output";
    }
}
