using Repro.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

public class FullBatchTrainingTests
{
    [Test]
    public void RecordsTheLossBeforeEachStepAndAfterTheLast()
    {
        using var _ = NewDisposeScope();
        var x = new Parameter(tensor(new[] { 3f }));
        var sgd = optim.SGD([x], 0.25);
        var losses = FullBatchTraining.Run(sgd, 3, () => x.square().sum());   // x halves each step: 3, 1.5, 0.75, 0.375
        Assert.That(losses, Is.EqualTo(new[] { 9f, 2.25f, 0.5625f, 0.140625f }));
    }

    [Test]
    public void TheScheduleStepsOncePerStep()
    {
        using var _ = NewDisposeScope();
        var x = new Parameter(tensor(new[] { 1f }));
        var sgd = optim.SGD([x], 0.1);
        var schedule = optim.lr_scheduler.LinearLR(sgd, 1.0, 0.0, 4);
        FullBatchTraining.Run(sgd, 4, () => x.sum(), schedule);
        // Steps of 0.1, 0.075, 0.05, 0.025 (the rate decays linearly to 0 over the 4 steps).
        Assert.That(x.item<float>(), Is.EqualTo(1 - 0.25f).Within(1e-6));
    }
}
