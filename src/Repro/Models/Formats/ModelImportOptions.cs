namespace Repro.Models.Formats;

/// <summary>
/// What the user says about a model file where the file itself does not (the command line's
/// --input-size, --mean, --std, --labels, --channels-last, --output). Null means "from the file,
/// else the default": input 224x224, ImageNet mean and std, channels first, numbered classes.
/// </summary>
public sealed record ModelImportOptions
{
    /// <summary>torchvision's ImageNet per-channel means (RGB, [0,1] pixels).</summary>
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    /// <summary>torchvision's ImageNet per-channel standard deviations (RGB, [0,1] pixels).</summary>
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];
    /// <summary>Input height and width (224) when neither the file nor the options fix them.</summary>
    public const int DefaultInputSize = 224;

    /// <summary><c>--input-size</c>: height and width in pixels where the file leaves them open; null: from the file, else <see cref="DefaultInputSize"/>.</summary>
    public (int Height, int Width)? InputSize { get; init; }
    /// <summary><c>--mean</c>: per-channel means subtracted from [0,1] pixels; null: from the file, else <see cref="ImageNetMean"/>.</summary>
    public float[]? Mean { get; init; }
    /// <summary><c>--std</c>: per-channel standard deviations dividing [0,1] pixels after the mean is subtracted; null: from the file, else <see cref="ImageNetStd"/>.</summary>
    public float[]? Std { get; init; }
    /// <summary><c>--labels</c>: a text file with one class name per output, in output order; null: ImageNet names or numbered classes.</summary>
    public string? LabelsPath { get; init; }
    /// <summary><c>--channels-last</c>: whether the network takes NHWC images; null: inferred from the file.</summary>
    public bool? ChannelsLast { get; init; }
    /// <summary><c>--output</c>: the name of the graph output to use as logits; null: the importer's choice.</summary>
    public string? OutputName { get; init; }

    /// <summary>True when no option is given (every property null).</summary>
    public bool IsEmpty => this == new ModelImportOptions();

    /// <summary>The options given, by their command-line names, for messages.</summary>
    public IEnumerable<string> Given()
    {
        if (InputSize is not null) yield return "options.InputSize";
        if (Mean is not null) yield return "options.Mean";
        if (Std is not null) yield return "options.Std";
        if (LabelsPath is not null) yield return "options.LabelsPath";
        if (ChannelsLast is not null) yield return "options.ChannelsLast";
        if (OutputName is not null) yield return "options.OutputName";
    }
}
