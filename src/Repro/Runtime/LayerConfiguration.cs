using Repro.Models.Tflite;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Runtime;

/// <summary>
/// One distinct convolution, linear or pooling configuration of a model, as libtorch sees it: the
/// per-example input shape and memory layout (channels-last or not), and for convolutions the weight
/// shape, stride, padding, dilation, groups and any explicit padding applied before (TensorFlow's
/// asymmetric SAME). Found by <see cref="Trace"/>, which runs the model once per batch size with hooks on
/// its layers (a layer it cannot describe, such as a convolution with reflection padding, is reported,
/// not silently passed); run by <see cref="Run"/> in any dtype with given weights, so that the arithmetic
/// self-check can compare float32 with float64. Pooling layers are run through their own module
/// (they hold no parameters); convolutions and linear layers through the functional op with random weights.
/// </summary>
internal sealed record LayerConfiguration
{
    /// <summary>conv2d, linear, max_pool2d, adaptive_avg_pool2d, tf_avg_pool2d, or another pooling module's type name.</summary>
    public required string Kind { get; init; }
    /// <summary>Input shape without the batch dimension: [C,H,W] for images, [F] (or more) for linear layers.</summary>
    public required long[] Input { get; init; }
    public bool ChannelsLast { get; init; }
    /// <summary>Convolution [O, I/groups, kH, kW] or linear [O, I] weight shape; null for pooling.</summary>
    public long[]? Weight { get; init; }
    public bool Bias { get; init; }
    public long[] Stride { get; init; } = [1, 1];
    public long[] Padding { get; init; } = [0, 0];
    public long[] Dilation { get; init; } = [1, 1];
    public long Groups { get; init; } = 1;
    /// <summary>torch pad amounts [left, right, top, bottom] applied before the convolution, or null.</summary>
    public long[]? Pad { get; init; }
    /// <summary>Pooling window [kH, kW] (max_pool2d, tf_avg_pool2d), or null.</summary>
    public long[]? Kernel { get; init; }
    public bool CeilMode { get; init; }
    /// <summary>tf_avg_pool2d: TensorFlow SAME padding (only real pixels averaged) rather than VALID.</summary>
    public bool SamePadding { get; init; }
    /// <summary>The per-example output shape seen while tracing (pooling is identified by it).</summary>
    public long[] Output { get; init; } = [];
    /// <summary>A parameter-free module run as it is (pooling); not part of the configuration's identity.</summary>
    public nn.Module<Tensor, Tensor>? Module { get; init; }

    /// <summary>Identity of the configuration: equal keys compute the same thing with the same kernels.</summary>
    public string Key => $"{Kind}|{S(Input)}|{(ChannelsLast ? "cl" : "c")}|{S(Weight)}|{Bias}|{S(Stride)}|{S(Padding)}|{S(Dilation)}|{Groups}|{S(Pad)}|{S(Kernel)}|{CeilMode}|{SamePadding}|{S(Output)}";

    /// <summary>A short human description, e.g. "conv 960→320 1x1 on 7x7, channels-last".</summary>
    public string Describe()
    {
        string layout = ChannelsLast ? ", channels-last" : "";
        if (Kind == "linear") return $"linear {Weight![1]}→{Weight[0]}";
        if (Kind != "conv2d") return $"{Kind}{(Kernel is null ? "" : $" {Kernel[0]}x{Kernel[1]}")} [{S(Input)}]→[{S(Output)}]{layout}";
        long o = Weight![0], i = Weight[1] * Groups;
        string groups = Groups == 1 ? "" : Groups == i && Groups == o ? " depthwise" : $" groups {Groups}";
        string extra = (Stride.Any(s => s != 1) ? $" stride {S(Stride)}" : "") + (Padding.Any(p => p != 0) ? $" pad {S(Padding)}" : "")
                       + (Pad is null ? "" : $" pad-before {S(Pad)}") + (Dilation.Any(d => d != 1) ? $" dilation {S(Dilation)}" : "");
        return $"conv {i}→{o} {Weight[2]}x{Weight[3]}{groups}{extra} on {Input[1]}x{Input[2]}{layout}";
    }

    /// <summary>Runs the configuration on <paramref name="input"/> ([N, ..Input]) with the given weight and bias (null for pooling).</summary>
    public Tensor Run(Tensor input, Tensor? weight, Tensor? bias) => Kind switch
    {
        "conv2d" => nn.functional.conv2d(Pad is null ? input : nn.functional.pad(input, Pad), weight!, bias, strides: Stride, padding: Padding, dilation: Dilation, groups: Groups),
        "linear" => nn.functional.linear(input, weight!, bias),
        "max_pool2d" => nn.functional.max_pool2d(input, Kernel!, Stride, Padding, Dilation, CeilMode),
        "avg_pool2d" or "avg_pool2d_count_padding" => nn.functional.avg_pool2d(input, Kernel!, Stride, Padding, CeilMode, Kind == "avg_pool2d_count_padding"),
        "adaptive_avg_pool2d" => nn.functional.adaptive_avg_pool2d(input, Output[1..]),
        _ => (Module ?? throw new InvalidOperationException($"{Kind}: no module to run")).forward(input),
    };

    /// <summary>While <see cref="Trace"/> runs on this thread: where layers that are functions rather than modules (ONNX's Conv, Gemm and pooling nodes) report themselves.</summary>
    [ThreadStatic] static Action<LayerConfiguration, string>? functionalLayers;

    /// <summary>
    /// Called by a layer computed through a functional op (an imported ONNX node) with its configuration
    /// and its name; a no-op outside <see cref="Trace"/> (the description is not even built then).
    /// </summary>
    public static void Record(string layer, Func<LayerConfiguration> describe) => functionalLayers?.Invoke(describe(), layer);

    /// <summary>
    /// The distinct configurations of <paramref name="model"/>'s Conv2d, TfConv2d, Linear and pooling
    /// layers on inputs [b, ..<paramref name="input"/>] for each b in <paramref name="batches"/>, each with
    /// the first layer that has it and how many layers share it. Layers the model calls with
    /// <c>forward</c> instead of <c>call</c> are invisible to hooks; they, and layers that cannot be
    /// described (a convolution with a padding mode other than zeros), are listed in <paramref name="unseen"/>.
    /// Functional layers that report themselves through <see cref="Record"/> (an imported ONNX graph's
    /// Conv, Gemm, MaxPool and AveragePool nodes) are found the same way.
    /// The model runs in eval mode without gradients (its BatchNorm statistics are untouched).
    /// </summary>
    public static IReadOnlyList<(LayerConfiguration Configuration, string Layer, int Layers)> Trace(
        nn.Module<Tensor, Tensor> model, long[] input, IReadOnlyList<int> batches, out IReadOnlyList<string> unseen)
    {
        var found = new Dictionary<string, (LayerConfiguration Configuration, string Layer, HashSet<string> Layers)>();
        var seen = new HashSet<string>();
        var hooks = new List<Action>();
        // A module reachable under two names (a wrapper that registers its inner network twice) is one layer, under its first name.
        var layers = model.named_modules().Where(m => IsTraced(m.Item2)).DistinctBy(m => m.Item2, ReferenceEqualityComparer.Instance)
            .Select(m => (Name: m.Item1, Module: (nn.Module<Tensor, Tensor>)m.Item2)).ToList();
        foreach (var (name, module) in layers)
        {
            var hook = module.register_forward_hook((m, x, y) =>
            {
                var configuration = Describe(m, x, y);
                if (configuration is null) return y; // not checkable: reported as unseen
                seen.Add(name);
                if (!found.TryGetValue(configuration.Key, out var entry))
                    found[configuration.Key] = entry = (configuration, name, []);
                entry.Layers.Add(name);
                return y;
            });
            hooks.Add(hook.remove);
        }
        bool training = model.training;
        functionalLayers = (configuration, name) =>
        {
            if (!found.TryGetValue(configuration.Key, out var entry))
                found[configuration.Key] = entry = (configuration, name, []);
            entry.Layers.Add(name);
        };
        try
        {
            model.eval();
            using var _ = no_grad();
            var generator = new Generator(0);
            foreach (int b in batches)
            {
                using var scope = NewDisposeScope();
                model.forward(rand([b, .. input], generator: generator));
            }
        }
        finally
        {
            foreach (var remove in hooks) remove();
            functionalLayers = null;
            model.train(training);
        }
        unseen = layers.Select(l => l.Name).Where(n => !seen.Contains(n)).ToList();
        return found.Values.Select(v => (v.Configuration, v.Layer, v.Layers.Count)).ToList();
    }

    static bool IsTraced(nn.Module module) => module is TorchSharp.Modules.Conv2d or TfConv2d or TorchSharp.Modules.Linear
        || (module is nn.Module<Tensor, Tensor> && !module.parameters().Any() && module.GetType().Name.Contains("Pool", StringComparison.Ordinal));

    static LayerConfiguration? Describe(nn.Module<Tensor, Tensor> module, Tensor x, Tensor y)
    {
        long[] input = x.shape[1..], output = y.shape[1..];
        bool channelsLast = IsChannelsLast(x);
        switch (module)
        {
            case TorchSharp.Modules.Conv2d c:
                if (c.padding_mode != PaddingModes.Zeros) return null;
                long[] padding = c.padding_type switch
                {
                    null => c.padding ?? [0, 0],
                    TorchSharp.Padding.Valid => [0, 0],
                    _ => [(c.dilation?[0] ?? 1) * (c.kernel_size[0] - 1) / 2, (c.dilation?[1] ?? 1) * (c.kernel_size[1] - 1) / 2],
                };
                return new()
                {
                    Kind = "conv2d", Input = input, ChannelsLast = channelsLast, Weight = c.weight!.shape, Bias = c.bias is not null,
                    Stride = c.stride ?? [1, 1], Padding = padding, Dilation = c.dilation ?? [1, 1], Groups = c.groups, Output = output,
                };
            case TfConv2d t:
                {
                    var (kh, kw) = ((int)t.Weight.shape[2], (int)t.Weight.shape[3]);
                    long[] pad = t.Padding == TflitePadding.SAME
                        ? TfSamePadding.ForTorch(x.shape[2], x.shape[3], kh, kw, t.Stride.H, t.Stride.W, t.Dilation.H, t.Dilation.W)
                        : [0, 0, 0, 0];
                    bool symmetric = pad[0] == pad[1] && pad[2] == pad[3];
                    return new()
                    {
                        Kind = "conv2d", Input = input, ChannelsLast = channelsLast, Weight = t.Weight.shape, Bias = t.Bias is not null,
                        Stride = [t.Stride.H, t.Stride.W], Padding = symmetric ? [pad[2], pad[0]] : [0, 0], Dilation = [t.Dilation.H, t.Dilation.W],
                        Groups = t.Groups, Pad = symmetric ? null : pad, Output = output,
                    };
                }
            case TorchSharp.Modules.Linear l:
                return new() { Kind = "linear", Input = input, Weight = l.weight!.shape, Bias = l.bias is not null, Output = output };
            case TorchSharp.Modules.MaxPool2d p:
                return new()
                {
                    Kind = "max_pool2d", Input = input, ChannelsLast = channelsLast, Kernel = p.kernel_size, Stride = p.stride ?? p.kernel_size,
                    Padding = p.padding ?? [0, 0], Dilation = p.dilation ?? [1, 1], CeilMode = p.ceil_mode, Output = output,
                };
            case TorchSharp.Modules.AdaptiveAvgPool2d:
                return new() { Kind = "adaptive_avg_pool2d", Input = input, ChannelsLast = channelsLast, Output = output };
            case TfAveragePool2d a:
                return new()
                {
                    Kind = "tf_avg_pool2d", Input = input, ChannelsLast = channelsLast, Kernel = [a.Filter.H, a.Filter.W], Stride = [a.Stride.H, a.Stride.W],
                    SamePadding = a.Padding == TflitePadding.SAME, Output = output, Module = a,
                };
            default:
                return new() { Kind = module.GetType().Name, Input = input, ChannelsLast = channelsLast, Output = output, Module = module };
        }
    }

    /// <summary>True for a 4-d tensor laid out NHWC in memory (as oneDNN often returns), false for NCHW-contiguous.</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4 || x.is_contiguous()) return false;
        long[] s = x.stride(), n = x.shape;
        return s[1] == 1 && s[3] == n[1] && s[2] == n[3] * n[1];
    }

    /// <summary>The same values laid out channels-last (NHWC in memory, NCHW shape).</summary>
    public static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    static string S(long[]? values) => values is null ? "-" : string.Join(",", values);
}
