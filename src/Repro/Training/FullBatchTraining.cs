using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// The training loop of the tutorial's linear experiments: every step uses the whole training set
/// (no mini-batches, no shuffling), so a run depends only on the initial parameters and is exactly
/// repeatable. There is no checkpoint selection: the caller keeps the final parameters, which is
/// what an honest report of "the model trained for N iterations" means (the tutorial kept the
/// checkpoint with the best test accuracy, which leaks the test set into training).
/// </summary>
internal static class FullBatchTraining
{
    /// <summary>
    /// Runs <paramref name="iterations"/> steps of <paramref name="optimizer"/> on
    /// <paramref name="loss"/> (a scalar over the whole training set, recomputed each step).
    /// <paramref name="schedule"/>, if given, steps once after each optimiser step.
    /// Returns the loss before each step, then the final loss: iterations + 1 values.
    /// </summary>
    public static float[] Run(optim.Optimizer optimizer, int iterations, Func<Tensor> loss, optim.lr_scheduler.LRScheduler? schedule = null)
    {
        if (iterations < 0) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "iterations must be >= 0");
        var losses = new float[iterations + 1];
        for (int i = 0; i < iterations; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var value = loss();
            losses[i] = value.item<float>();
            value.backward();
            optimizer.step();
            schedule?.step();
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
            losses[iterations] = loss().item<float>();
        return losses;
    }
}
