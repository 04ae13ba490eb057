using Repro.Data;
using Repro.Models.Formats.Onnx;
using Repro.Models.Formats.TorchScript;
using Repro.Models.Tflite;
using static TorchSharp.torch;

namespace Repro.Models.Formats;

/// <summary>
/// Resolves <c>--model NAME|PATH</c>: a registry name (resnet18, resnet50, mobilenet_v2) or a model
/// file whose format is recognised from its content (<see cref="ModelFormatDetector"/>), imported
/// and wrapped into a module that takes [0,1] images and returns logits (<see cref="ImportedModel"/>).
/// Preprocessing comes from the file where its format says it — a TFLite file's input
/// quantisation, an ONNX file's image metadata (docs/MetadataProps.md: Image.BitmapPixelFormat,
/// Image.NominalPixelRange) — and otherwise from the options (default: ImageNet mean and std,
/// 224x224). An option that contradicts the file is refused rather than applied twice. Outputs: a
/// terminal softmax is dropped by the importers; outputs that are still probabilities (rows sum to
/// one) become log-probabilities; a background class (1001 outputs, or a labels file with one label
/// fewer than outputs, or whose first label is "background") is dropped.
/// </summary>
public static class ModelSource
{
    /// <summary>Whether <paramref name="name"/> is a <see cref="ModelRegistry"/> name (case-insensitive).</summary>
    public static bool IsRegistryName(string name) => ModelRegistry.Names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The committed CIFAR-10 cat-vs-airplane models (32x32 inputs, classes cat and airplane): cifar-standard, cifar-robust.</summary>
    public static IReadOnlyList<string> CifarNames => ["cifar-standard", "cifar-robust"];

    /// <summary>Every name <see cref="Load"/> knows: the committed CIFAR models and the registry's.</summary>
    public static IReadOnlyList<string> Names => [.. CifarNames, .. ModelRegistry.Names];

    /// <summary>Loads a committed CIFAR model, a registry model or a model file (TFLite, ONNX, TorchScript) as a module taking [N,C,H,W] images in [0,1] and returning logits [N,classes].</summary>
    /// <param name="nameOrPath">A name of <see cref="Names"/> (case-insensitive; an existing file of that name wins) or a model file path.</param>
    /// <param name="paths">Where registry weights and the ImageNet class list are found.</param>
    /// <param name="options">What the user says about the file; must be empty for a name.</param>
    /// <param name="log">Receives progress of loading (or, where its weights are absent, training) a committed CIFAR model; null: none.</param>
    /// <exception cref="ReproInputException">Neither a known name nor a file; an unreadable or unsupported file; options that contradict the file or are invalid.</exception>
    public static LoadedModel Load(string nameOrPath, ReproPaths paths, ModelImportOptions? options = null, TextWriter? log = null)
    {
        options ??= new ModelImportOptions();
        if (CifarNames.Contains(nameOrPath, StringComparer.OrdinalIgnoreCase) && !File.Exists(nameOrPath)) return Cifar(nameOrPath.ToLowerInvariant(), paths, options, log ?? TextWriter.Null);
        if (IsRegistryName(nameOrPath) && !File.Exists(nameOrPath)) return Registry(nameOrPath, paths, options);
        if (!File.Exists(nameOrPath) && !Directory.Exists(nameOrPath))
            throw new ReproInputException($"model '{nameOrPath}' is neither a known name ({string.Join(", ", Names)}) nor a file");
        string path = Path.GetFullPath(nameOrPath);
        var format = ModelFormatDetector.Detect(path);
        if (options.Mean is { } m && options.Std is { } s && m.Length != s.Length)
            throw new ReproArgumentException("options.Mean", $"{m.Length} values, but options.Std has {s.Length}");
        if ((options.Mean ?? options.Std)?.Any(v => !float.IsFinite(v)) == true || options.Std?.Any(v => v <= 0) == true)
            throw new ReproArgumentException("options.Mean", "the mean must be finite and options.Std positive");
        return format switch
        {
            ModelFormat.Tflite => Tflite(path, paths, options),
            ModelFormat.Onnx => Onnx(path, paths, options),
            _ => TorchScriptFile(path, paths, options),
        };
    }

    static LoadedModel Cifar(string name, ReproPaths paths, ModelImportOptions options, TextWriter log)
    {
        if (!options.IsEmpty)
            throw new ReproArgumentException(nameof(options), $"{string.Join(", ", options.Given())} apply to model files; '{name}' is a built-in model with its own preprocessing");
        var recipe = name == "cifar-robust" ? Training.TrainingRecipe.Robust : Training.TrainingRecipe.Standard;
        var module = Training.CifarModels.Get(recipe, paths, log);
        module.eval();
        return new LoadedModel(name, ModelFormat.Registry, module, (3, 32, 32), ClassLabels.Of(Cifar10.CatVsAirplane, "the committed CIFAR-10 cat-vs-airplane model's"),
            $"built in (the committed CIFAR-10 cat-vs-airplane SmallResNet, {recipe.Name} training; pixels in [0,1])", []);
    }

    static LoadedModel Registry(string name, ReproPaths paths, ModelImportOptions options)
    {
        if (!options.IsEmpty)
            throw new ReproArgumentException(nameof(options), $"{string.Join(", ", options.Given())} apply to model files; '{name}' is a built-in model with its own preprocessing");
        var entry = ModelRegistry.Get(name);
        var module = entry.Load(paths.ModelRoot);
        var notes = new List<string>();
        var classes = ImageNetLabels(paths, notes);
        return new LoadedModel(entry.Name, ModelFormat.Registry, module, (3, 224, 224), classes, $"built in ({entry.Description})", notes);
    }

    static LoadedModel Tflite(string path, ReproPaths paths, ModelImportOptions options)
    {
        if (options.ChannelsLast is not null) throw new ReproArgumentException("options.ChannelsLast", $"{path} is TensorFlow Lite, whose images are NHWC by definition; the importer handles the layout");
        if (options.OutputName is not null) throw new ReproArgumentException("options.OutputName", $"{path} is TensorFlow Lite with one output");
        var network = TfliteImporter.Load(path, dropBackground: false);
        try
        {
            var input = (network.InputChannels, network.InputHeight, network.InputWidth);
            if (options.InputSize is (int h, int w) && (h != input.InputHeight || w != input.InputWidth))
                throw new ReproArgumentException("options.InputSize", $"{h}x{w}: {path} fixes its input at {input.InputHeight}x{input.InputWidth}");
            float[]? mean = null, std = null;
            string preprocessing;
            if (network.InputIsQuantised)
            {
                if (options.Mean is not null || options.Std is not null)
                    throw new ReproArgumentException("options.Mean", $"{path} has a quantised input whose scale and zero point fix the preprocessing (the model sees {network.InputScaling.Gain:G4} p {network.InputScaling.Offset:+0.####;-0.####} for pixels p in [0,1])");
                preprocessing = $"from the file's input quantisation: the model sees {network.InputScaling.Gain:G4} p {network.InputScaling.Offset:+0.####;-0.####} for pixels p in [0,1]";
            }
            else (mean, std, preprocessing) = FromOptions(options, input.InputChannels, "the file's input is float and does not say");
            return Finish(path, ModelFormat.Tflite, network, input, mean, std, bgr: false, channelsLast: false, preprocessing, [.. network.Notes], paths, options);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    static LoadedModel Onnx(string path, ReproPaths paths, ModelImportOptions options)
    {
        var network = OnnxImporter.Load(path, new OnnxImportOptions { InputSize = options.InputSize, ChannelsLast = options.ChannelsLast, OutputName = options.OutputName });
        try
        {
            var notes = network.Notes.ToList();
            long[] shape = network.InputShape;
            bool channelsLast = network.ChannelsLast;
            var input = channelsLast ? ((int)shape[2], (int)shape[0], (int)shape[1]) : ((int)shape[0], (int)shape[1], (int)shape[2]);
            float[]? mean, std;
            string preprocessing;
            bool bgr = false;
            var metadata = network.Metadata;
            string? pixelFormat = metadata.GetValueOrDefault("Image.BitmapPixelFormat");
            string? range = metadata.GetValueOrDefault("Image.NominalPixelRange");
            if (pixelFormat is not null)
            {
                bgr = pixelFormat is "Bgr8" or "Bgra8";
                if (pixelFormat is not ("Rgb8" or "Rgba8" or "Bgr8" or "Bgra8" or "Gray8"))
                    throw new ReproInputException($"{path}: metadata Image.BitmapPixelFormat = '{pixelFormat}' is not one of Gray8, Rgb8, Bgr8, Rgba8, Bgra8");
                if (pixelFormat == "Gray8" && input.Item1 != 1) throw new ReproInputException($"{path}: metadata says Gray8 but the input has {input.Item1} channels");
            }
            if (range is not null)
            {
                if (options.Mean is not null || options.Std is not null)
                    throw new ReproArgumentException("options.Mean", $"{path} says its pixel range in its metadata (Image.NominalPixelRange = {range})");
                // The network sees (p - mean) / std for p in [0,1].
                (float m, float s) = range switch
                {
                    "NominalRange_0_255" => (0f, 1f / 255),
                    "Normalized_0_1" => (0f, 1f),
                    "Normalized_1_1" => (0.5f, 0.5f),
                    "NominalRange_16_235" => (-16f / 219, 1f / 219),
                    _ => throw new ReproInputException($"{path}: metadata Image.NominalPixelRange = '{range}' is not one of NominalRange_0_255, Normalized_0_1, Normalized_1_1, NominalRange_16_235"),
                };
                mean = Enumerable.Repeat(m, input.Item1).ToArray();
                std = Enumerable.Repeat(s, input.Item1).ToArray();
                preprocessing = $"from the file's metadata: Image.NominalPixelRange = {range} (the model sees (p - {m:G4}) / {s:G4}){(pixelFormat is null ? "" : $", Image.BitmapPixelFormat = {pixelFormat}")}";
            }
            else
            {
                (mean, std, preprocessing) = FromOptions(options, input.Item1, "the file does not say");
                if (pixelFormat is not null) preprocessing += $"; channel order from the file's metadata: Image.BitmapPixelFormat = {pixelFormat}";
            }
            return Finish(path, ModelFormat.Onnx, network, input, mean, std, bgr, channelsLast, preprocessing, notes, paths, options);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    static LoadedModel TorchScriptFile(string path, ReproPaths paths, ModelImportOptions options)
    {
        if (options.OutputName is not null) throw new ReproArgumentException("options.OutputName", $"{path} is TorchScript, whose outputs have no names (a forward returning several tensors is narrowed to the [N,K] one)");
        var network = TorchScriptNetwork.Load(path);
        try
        {
            var (h, w) = options.InputSize ?? (ModelImportOptions.DefaultInputSize, ModelImportOptions.DefaultInputSize);
            var (mean, std, preprocessing) = FromOptions(options, 3, "TorchScript files do not say");
            var notes = new List<string>();
            if (options.InputSize is null) notes.Add($"input size {h}x{w} (the file does not say; options.{nameof(options.InputSize)})");
            var loaded = Finish(path, ModelFormat.TorchScript, network, (3, h, w), mean, std, bgr: false, options.ChannelsLast ?? false, preprocessing, notes, paths, options);
            return loaded with { Notes = [.. loaded.Notes, .. network.Notes] };
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    static (float[] Mean, float[] Std, string Description) FromOptions(ModelImportOptions options, int channels, string why)
    {
        float[] mean = options.Mean ?? (channels == 3 ? ModelImportOptions.ImageNetMean : Enumerable.Repeat(0.5f, channels).ToArray());
        float[] std = options.Std ?? (channels == 3 ? ModelImportOptions.ImageNetStd : Enumerable.Repeat(0.5f, channels).ToArray());
        if (mean.Length == 1 && channels > 1) mean = Enumerable.Repeat(mean[0], channels).ToArray();
        if (std.Length == 1 && channels > 1) std = Enumerable.Repeat(std[0], channels).ToArray();
        if (mean.Length != channels || std.Length != channels)
            throw new ReproArgumentException("options.Mean", $"the mean and options.Std need one value (or {channels}) for the model's {channels} channels, got {mean.Length} and {std.Length}");
        string source = options.Mean is null && options.Std is null ? "the default ImageNet statistics (options.Mean and options.Std)" : "options.Mean and options.Std";
        return (mean, std, $"(p - mean) / std per channel with mean [{string.Join(", ", mean.Select(v => v.ToString("G4")))}], std [{string.Join(", ", std.Select(v => v.ToString("G4")))}] from {source}: {why}");
    }

    /// <summary>
    /// Wraps the network, runs two seeded images through it (checking it returns [2,K] finite
    /// scores), recognises probabilities and a background output, and names the classes.
    /// </summary>
    static LoadedModel Finish(string path, ModelFormat format, nn.Module<Tensor, Tensor> network, (int C, int H, int W) input,
        float[]? mean, float[]? std, bool bgr, bool channelsLast, string preprocessing, List<string> notes, ReproPaths paths, ModelImportOptions options)
    {
        var model = new ImportedModel(network, input, mean, std, bgr, channelsLast);
        model.eval();
        long classes;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var images = rand([2, input.C, input.H, input.W], generator: new Generator(0));
            Tensor y;
            try { y = model.call(images); }
            catch (ArgumentException e) { throw new ReproInputException($"{path}: the model does not run on images {input.C}x{input.H}x{input.W}: {e.Message}"); }
            if (y.dim() != 2 || y.shape[0] != 2)
                throw new ReproInputException($"{path}: the model returns [{string.Join(",", y.shape)}] for two images; expected one vector of class scores per image");
            if (!y.isfinite().all().item<bool>()) throw new ReproInputException($"{path}: the model returns non-finite scores (NaN or infinity) for random images");
            classes = y.shape[1];
            if (classes < 2) throw new ReproInputException($"{path}: the model returns {classes} score per image; a classifier needs at least two");
            bool probabilities = y.ge(0).all().item<bool>() && (y.sum(1) - 1).abs().max().item<float>() < 1e-4;
            if (probabilities)
            {
                model.UseLogOfProbabilities();
                notes.Add("the model's outputs are probabilities (non-negative, each row sums to 1): their logarithm is used as logits, which softmax maps back to the same probabilities");
            }
        }

        // Never a result on wrong arithmetic: the layers the check can see (TFLite's convolutions and linear layers;
        // ONNX and TorchScript graphs run their operators inside one module and are covered by the oneDNN repair).
        Runtime.ArithmeticSelfCheck.Ensure(model, Path.GetFileName(path), [input.C, input.H, input.W]);
        var labels = options.LabelsPath is null ? null : ClassLabels.ReadFile(options.LabelsPath);
        bool dropBackground = false;
        ClassLabels names;
        if (labels is not null)
        {
            string file = Path.GetFileName(options.LabelsPath!);
            if (labels.Count == classes && classes == 1001 && labels[0].Equals("background", StringComparison.OrdinalIgnoreCase))
            {
                dropBackground = true;
                names = ClassLabels.Of(labels.Skip(1).ToArray(), file);
                notes.Add($"{file} names output 0 'background': dropped, leaving {classes - 1} classes");
            }
            else if (labels.Count == classes) names = ClassLabels.Of(labels, file);
            else if (labels.Count == classes - 1)
            {
                dropBackground = true;
                names = ClassLabels.Of(labels, file);
                notes.Add($"{file} has {labels.Count} labels for {classes} outputs: output 0 is taken as a background class and dropped");
            }
            else throw new ReproInputException($"{options.LabelsPath}: {labels.Count} labels, but the model has {classes} outputs");
        }
        else if (classes == 1001)
        {
            dropBackground = true;
            notes.Add("1001 outputs: output 0 is TensorFlow's background class and is dropped; the other 1000 are taken as ImageNet-1k in the standard order (give options.LabelsPath to name them otherwise)");
            names = ImageNetLabels(paths, notes);
        }
        else if (classes == 1000)
        {
            notes.Add("1000 outputs: taken as ImageNet-1k in the standard order (give options.LabelsPath to name them otherwise)");
            names = ImageNetLabels(paths, notes);
        }
        else names = ClassLabels.Numbered((int)classes);
        if (dropBackground) model.DropBackground();
        return new LoadedModel(path, format, model, input, names, preprocessing, notes);
    }

    // The 1,000 ImageNet class names ship with the product (ImageNetClasses.Standard): no data set is needed to name them.
    static ClassLabels ImageNetLabels(ReproPaths paths, List<string> notes) => ClassLabels.ImageNet(ImageNetClasses.Standard, "ImageNet classes (built in)");
}
