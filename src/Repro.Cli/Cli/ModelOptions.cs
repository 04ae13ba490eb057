using System.CommandLine;
using System.Globalization;
using Repro.Data;
using Repro.Models;
using Repro.Models.Formats;

namespace Repro.Cli;

/// <summary>
/// --model NAME|PATH and the options that say what a model file does not: input size, mean and
/// std, labels, channels-last layout, which output holds the class scores. Shared by attack, eval,
/// explain and bench; resolved by <see cref="ModelSource"/>.
/// </summary>
internal sealed class ModelOptions
{
    public readonly Option<string?> Model;
    public readonly Option<string?> InputSize = new("--input-size") { Description = "input height and width, as 224 or 224x192, where the file does not fix them (default 224)" };
    public readonly Option<string?> Mean = new("--mean") { Description = "per-channel mean, comma-separated, of the normalisation (p - mean) / std for pixels p in [0,1], where the file does not say (default: ImageNet 0.485,0.456,0.406)" };
    public readonly Option<string?> Std = new("--std") { Description = "per-channel standard deviation of that normalisation (default: ImageNet 0.229,0.224,0.225)" };
    public readonly Option<string?> Labels = new("--labels") { Description = "class names, one per line in output order (default: ImageNet names for 1000 or 1001 outputs, else numbered)" };
    public readonly Option<bool> ChannelsLast = new("--channels-last") { Description = "the file takes images [N,H,W,C] (default: read from the file's input shape; ONNX and TorchScript)" };
    public readonly Option<string?> OutputName = new("--output-name") { Description = "the ONNX output holding class scores, for a file with several (default: the only one shaped [N,K])" };

    /// <param name="required">Whether --model must be given (bench has a default model of its own).</param>
    public ModelOptions(bool required = true, string? defaultDescription = null)
    {
        Model = new Option<string?>("--model")
        {
            Description = $"a built-in model ({string.Join(", ", ModelSource.Names)}) or a model file: TensorFlow Lite, ONNX or TorchScript, recognised from its content{(defaultDescription is null ? "" : $" (default: {defaultDescription})")}",
            Required = required,
        };
    }

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, InputSize, Mean, Std, Labels, ChannelsLast, OutputName }) command.Options.Add(o);
    }

    /// <summary>Loads the model the options name, or throws <see cref="ReproInputException"/> naming the option or file at fault.</summary>
    public LoadedModel Load(ParseResult r, ReproPaths paths, TextWriter? log = null)
    {
        var options = new ModelImportOptions
        {
            InputSize = r.GetValue(InputSize) is string size ? Size(size) : null,
            Mean = r.GetValue(Mean) is string mean ? Floats("--mean", mean) : null,
            Std = r.GetValue(Std) is string std ? Floats("--std", std) : null,
            LabelsPath = r.GetValue(Labels),
            ChannelsLast = r.GetValue(ChannelsLast) ? true : null,
            OutputName = r.GetValue(OutputName),
        };
        LoadedModel loaded;
        try { loaded = ModelSource.Load(r.GetValue(Model)!, paths, options, log); }
        catch (ReproInputException e) when (e.Message.Contains("options.", StringComparison.Ordinal))
        {
            // The library names its settings; the command names the flags they came from.
            string message = e is ReproArgumentException a && Flags.TryGetValue(a.ParamName, out string? flag) ? $"{flag}: {e.Message[(a.ParamName.Length + 2)..]}"
                : e is ReproArgumentException b ? e.Message[(b.ParamName.Length + 2)..] : e.Message;
            foreach (var (setting, name) in Flags) message = message.Replace(setting, name, StringComparison.Ordinal);
            throw new ReproInputException(message, e);
        }
        // The notes and the preprocessing name the settings too: the command shows the flags.
        return loaded with { Preprocessing = SettingFlags.Rename(loaded.Preprocessing, Flags), Notes = [.. loaded.Notes.Select(n => SettingFlags.Rename(n, Flags))] };
    }

    /// <summary>The flag behind each <see cref="ModelImportOptions"/> setting the library names in its messages.</summary>
    public static readonly IReadOnlyDictionary<string, string> Flags = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["options.Mean"] = "--mean", ["options.Std"] = "--std", ["options.InputSize"] = "--input-size",
        ["options.ChannelsLast"] = "--channels-last", ["options.OutputName"] = "--output-name", ["options.LabelsPath"] = "--labels",
    };

    static (int, int) Size(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 1 and <= 8192))
        {
            int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }
        throw new ReproInputException($"--input-size must be a size like 224 or 224x192 (1-8192), got '{text}'");
    }

    static float[] Floats(string option, string text)
    {
        var values = text.Split(',').Select(v => float.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f : float.NaN).ToArray();
        if (values.Length is < 1 or > 64 || values.Any(v => !float.IsFinite(v)))
            throw new ReproInputException($"{option} must be one or more comma-separated numbers, got '{text}'");
        return values;
    }
}
