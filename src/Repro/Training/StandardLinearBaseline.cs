using System.Diagnostics;
using Repro.Data;
using Repro.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// The CIFAR-10 cat-vs-airplane data (cat = 0, airplane = 1) and the tutorial's standard linear model
/// trained on it, which claims 2 and 6 both start from. Built once per process for each data root,
/// seed and recipe, and shared: loading and training cost about a minute on 2 cores, and the two
/// claims then judge the very same model. Shared objects: callers read them and never dispose them.
/// The data and the model live on the device asked for (one baseline per device).
/// </summary>
internal sealed class StandardLinearBaseline
{
    /// <summary>The cat-vs-airplane training split (cat = 0, airplane = 1), on the baseline's device.</summary>
    public required LabelledImages Train { get; init; }
    /// <summary>The cat-vs-airplane test split (cat = 0, airplane = 1), on the baseline's device.</summary>
    public required LabelledImages Test { get; init; }
    /// <summary>The standard linear model trained on <see cref="Train"/>.</summary>
    public required TrainedLinear Standard { get; init; }
    /// <summary>The SGD iterations it was trained for.</summary>
    public required int Iterations { get; init; }
    /// <summary>The SGD learning rate it was trained with.</summary>
    public required double LearningRate { get; init; }
    /// <summary>Time spent loading the data and training, when this baseline was built.</summary>
    public required TimeSpan BuildTime { get; init; }

    static readonly Dictionary<string, StandardLinearBaseline> Built = [];
    static readonly Lock Gate = new();

    /// <summary>The baseline for this data root, seed, recipe and device; <paramref name="reused"/> says whether it was already built.</summary>
    /// <param name="dataRoot">The data root holding CIFAR-10.</param>
    /// <param name="seed">Seed of the linear model's training.</param>
    /// <param name="iterations">SGD iterations.</param>
    /// <param name="learningRate">SGD learning rate.</param>
    /// <param name="reused">True when this baseline had already been built in this process.</param>
    /// <param name="device">Where the data and the model live (default: the CPU).</param>
    /// <exception cref="MissingInputsException">CIFAR-10 is not under the data root and could not be fetched.</exception>
    public static StandardLinearBaseline Get(string dataRoot, long seed, int iterations, double learningRate, out bool reused, Device? device = null)
    {
        device ??= CPU;
        string key = $"{Path.GetFullPath(dataRoot)}|seed {seed}|SGD lr {learningRate} x {iterations}|{ComputeDevice.Name(device)}";
        lock (Gate)
        {
            reused = Built.TryGetValue(key, out var baseline);
            if (baseline != null) return baseline;
            var clock = Stopwatch.StartNew();
            var train = OnDevice(Cifar10.Load(dataRoot, Split.Train, Cifar10.CatVsAirplane), device);
            var test = OnDevice(Cifar10.Load(dataRoot, Split.Test, Cifar10.CatVsAirplane), device);
            var standard = LinearTraining.Standard(train.Images, train.Labels, iterations, learningRate, seed);
            // Shared for the life of the process: no caller's dispose scope may free these.
            foreach (var t in new[] { train.Images, train.Labels, test.Images, test.Labels }.Concat(standard.Model.parameters()))
                t.DetachFromDisposeScope();
            baseline = new StandardLinearBaseline
            {
                Train = train, Test = test, Standard = standard,
                Iterations = iterations, LearningRate = learningRate, BuildTime = clock.Elapsed,
            };
            Built[key] = baseline;
            return baseline;
        }
    }

    static LabelledImages OnDevice(LabelledImages set, Device device)
    {
        if (device.type == DeviceType.CPU) return set;
        using (set) return new LabelledImages(DevicePlacement.To(set.Images, device, "images"), set.Labels.to(device), set.ClassNames);
    }
}
