using Repro.Attacks;
using Repro.Explain;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Devices;

/// <summary>
/// The engine on CUDA: with the model and the images on the GPU, every result stays there and
/// equals the CPU's result. These tests need a CUDA libtorch and a GPU; elsewhere each is skipped
/// with the reason printed (the CPU build cannot see a GPU). Random starts and SmoothGrad's noise
/// come from per-example <see cref="CounterNoise"/> streams computed on each device, so both devices
/// use the same numbers; TF32 is switched off so that both compute in full float32 and the comparison checks the
/// engine's device handling, not TF32 rounding.
/// </summary>
[NonParallelizable]
public class CudaEngineTests
{
    bool cudnnTf32, matmulTf32;

    [SetUp]
    public void RequireCuda()
    {
        if (!cuda.is_available())
            Repro.Tests.Unit.Support.TestData.NotRun("CUDA not available here (CPU libtorch, or no GPU). To fix: run on a GPU machine with a CUDA build (dotnet test -p:ReproCuda=true, README: GPU runner)");
        cudnnTf32 = backends.cudnn.allow_tf32;
        matmulTf32 = backends.cuda.matmul.allow_tf32;
        backends.cudnn.allow_tf32 = false;
        backends.cuda.matmul.allow_tf32 = false;
    }

    [TearDown]
    public void RestoreTf32()
    {
        if (!cuda.is_available()) return;
        backends.cudnn.allow_tf32 = cudnnTf32;
        backends.cuda.matmul.allow_tf32 = matmulTf32;
    }

    static (TinyNet Cpu, TinyNet Gpu) Models()
    {
        var gpu = new TinyNet();
        gpu.to(CUDA);
        return (new TinyNet(), gpu);
    }

    static float MaxDifference(Tensor cpu, Tensor gpu)
    {
        Assert.That(gpu.device_type, Is.EqualTo(DeviceType.CUDA), "the result stays on the inputs' device");
        return (gpu.cpu() - cpu).abs().max().item<float>();
    }

    [Test]
    public void PgdOnTheGpuEqualsPgdOnTheCpu([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        var (cpuModel, gpuModel) = Models();
        manual_seed(5);
        var images = rand(6, 3, 32, 32);
        var labels = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        ThreatModel threat = norm == "L2" ? new L2Ball(0.5) : new LinfBall(8 / 255.0);
        var options = new PgdOptions { Steps = 10, StepSize = norm == "L2" ? 0.1 : 2 / 255.0, RandomStart = true, Choice = IterateChoice.BestLoss };
        var run = new AttackRun(3);
        using var onCpu = Pgd.Run(CrossEntropyObjective.Untargeted(cpuModel, labels), images, threat, run, options);
        using var onGpu = Pgd.Run(CrossEntropyObjective.Untargeted(gpuModel, labels.cuda()), images.cuda(), threat, run, options);

        float images_ = MaxDifference(onCpu.Adversarial, onGpu.Adversarial), losses = MaxDifference(onCpu.Loss, onGpu.Loss);
        TestContext.Out.WriteLine($"{norm}: max |adversarial cpu - gpu| {images_:E2}, max |loss cpu - gpu| {losses:E2}");
        Assert.That(images_, Is.LessThan(1e-4f));
        Assert.That(losses, Is.LessThan(1e-4f));
        Assert.That(onGpu.Success.cpu().data<bool>().ToArray(), Is.EqualTo(onCpu.Success.data<bool>().ToArray()));
        double limit = threat.Eps + 1e-5;
        Assert.That((norm == "L2" ? onGpu.L2 : onGpu.Linf).max().item<float>(), Is.LessThanOrEqualTo(limit));
        Assert.That(onGpu.Adversarial.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(onGpu.Adversarial.max().item<float>(), Is.LessThanOrEqualTo(1f));
    }

    [Test]
    public void CounterNoiseIsTheSameOnTheGpu()
    {
        using var _ = NewDisposeScope();
        var onCpu = CounterNoise.Normal([4, 3, 32, 32], 5, 1000, CPU);
        var onGpu = CounterNoise.Normal([4, 3, 32, 32], 5, 1000, CUDA);
        float difference = MaxDifference(onCpu, onGpu);
        TestContext.Out.WriteLine($"counter noise: max |cpu - gpu| {difference:E2}");
        Assert.That(difference, Is.LessThan(1e-5f));
    }

    /// <summary>
    /// On the GPU SmoothGrad computes its noise there (<see cref="CounterNoise"/>): its map is the
    /// mean gradient over exactly those noisy copies, here recomputed one copy at a time on the CPU,
    /// and it does not depend on the batch size.
    /// </summary>
    [Test]
    public void SmoothGradOnTheGpuIsTheMeanGradientOverItsNoisyCopies([Values(7, 30)] int batchSize)
    {
        using var _ = NewDisposeScope();
        var (cpuModel, gpuModel) = Models();
        manual_seed(6);
        var images = rand(3, 3, 32, 32);
        var labels = tensor(new long[] { 2, 0, 1 });
        const int samples = 10;
        const double sigma = 0.2;
        var smooth = new SmoothGrad(new VanillaGradient(gpuModel), samples, sigma, batchSize, seed: 4).Attribute(images.cuda(), AttributionTarget.Loss(labels.cuda()));

        var noise = SmoothGradReference.Noise(images, ExampleIds.OfContent(images), 4, samples);
        var reference = SmoothGradReference.Compute(cpuModel, images, labels, noise, sigma, samples);
        float difference = MaxDifference(reference, smooth), scale = reference.abs().max().item<float>();
        TestContext.Out.WriteLine($"SmoothGrad on the GPU (batches of {batchSize}): max |gpu - cpu reference| {difference:E2} of a largest value {scale:E2}");
        Assert.That(difference, Is.LessThan(1e-4f * scale));
    }

    /// <summary>What the claims use: SmoothGrad's counter noise makes the CPU's map and the GPU's the same.</summary>
    [Test]
    public void SmoothGradWithDeviceIndependentNoiseIsTheSameMapOnBothDevices()
    {
        using var _ = NewDisposeScope();
        var (cpuModel, gpuModel) = Models();
        manual_seed(8);
        var images = rand(4, 3, 32, 32);
        var labels = tensor(new long[] { 2, 0, 1, 1 });
        SmoothGrad Make(TinyNet model) => new(new VanillaGradient(model), 20, 0.3, 16, seed: 9);
        var onCpu = Make(cpuModel).Attribute(images, AttributionTarget.Loss(labels));
        var onGpu = Make(gpuModel).Attribute(images.cuda(), AttributionTarget.Loss(labels.cuda()));
        float difference = MaxDifference(onCpu, onGpu), scale = onCpu.abs().max().item<float>();
        TestContext.Out.WriteLine($"SmoothGrad, device-independent noise: max |gpu - cpu| {difference:E2} of a largest value {scale:E2}");
        Assert.That(difference, Is.LessThan(1e-4f * scale));
    }

    [Test]
    public void FeatureVisualisationOnTheGpuEqualsTheCpu()
    {
        using var _ = NewDisposeScope();
        var (cpuModel, gpuModel) = Models();
        manual_seed(7);
        var start = rand(2, 3, 32, 32);
        var options = new PgdOptions { Steps = 8, StepSize = 0.5 };
        using var onCpu = FeatureVisualisation.Maximise(cpuModel, start, 5, new L2Ball(4), new AttackRun(0), options);
        using var onGpu = FeatureVisualisation.Maximise(gpuModel, start.cuda(), 5, new L2Ball(4), new AttackRun(0), options);
        float difference = MaxDifference(onCpu.Adversarial, onGpu.Adversarial);
        TestContext.Out.WriteLine($"feature visualisation: max |cpu - gpu| {difference:E2}");
        Assert.That(difference, Is.LessThan(1e-4f));
        var before = FeatureVisualisation.Component(gpuModel, start.cuda(), 5);
        var after = FeatureVisualisation.Component(gpuModel, onGpu.Adversarial, 5);
        Assert.That(after.gt(before).all().item<bool>(), Is.True, "the component rises on the GPU");
    }

    /// <summary>A torchvision ResNet18 (random weights) moved to the GPU: its normalisation and every layer run there.</summary>
    [Test]
    public void AnImageNetModelMovedToTheGpuIsAttackedOnTheGpu()
    {
        using var _ = NewDisposeScope();
        var cpuModel = Repro.Models.TorchvisionResNet.Create("resnet18");
        var gpuModel = Repro.Models.TorchvisionResNet.Create("resnet18");
        gpuModel.load_state_dict(cpuModel.state_dict());
        gpuModel.to(CUDA);
        manual_seed(8);
        var images = rand(2, 3, 224, 224);
        var targets = tensor(new long[] { 1, 1 });
        var options = new PgdOptions { Steps = 3, StepSize = 0.5 };
        using var onCpu = Pgd.Run(CrossEntropyObjective.Targeted(cpuModel, targets), images, new L2Ball(1.25), new AttackRun(0), options);
        using var onGpu = Pgd.Run(CrossEntropyObjective.Targeted(gpuModel, targets.cuda()), images.cuda(), new L2Ball(1.25), new AttackRun(0), options);
        float difference = MaxDifference(onCpu.Adversarial, onGpu.Adversarial), losses = MaxDifference(onCpu.Loss, onGpu.Loss);
        TestContext.Out.WriteLine($"ResNet18: max |adversarial cpu - gpu| {difference:E2}, max |loss cpu - gpu| {losses:E2}");
        Assert.That(difference, Is.LessThan(1e-3f));
        Assert.That(losses, Is.LessThan(1e-3f));
    }
}
