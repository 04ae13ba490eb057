using System.Diagnostics;
using Repro.Attacks;
using Repro.Data;
using Repro.Models;
using Repro.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// Trains a <see cref="SmallResNet"/> by a <see cref="TrainingRecipe"/>: SGD with momentum and a
/// triangular learning-rate schedule, crop+flip augmentation, and, for adversarial training
/// (Madry et al. 2018), every minibatch replaced by L2 PGD examples of the current model
/// (random start). Seeded: the initial weights, the shuffling, the augmentation and every
/// attack's random start come from the recipe's seed.
///
/// Runs on the training images' device (the model is initialised on the CPU from the seed, so the
/// same seed starts from the same weights on every device, then moved there). The shuffling,
/// augmentation and random starts come from seeded CPU generators on every device.
///
/// While attacking, the model is in eval mode; while stepping, in train mode. Eval mode makes each
/// example's attack independent of the rest of its batch (BatchNorm uses running statistics, not
/// the batch's) and keeps the attack's forward passes out of the running statistics, which then
/// describe only the batches the model is trained on. (MadryLab's robustness library attacks in
/// whatever mode the model is in, i.e. train mode; with BatchNorm both work.)
/// </summary>
internal static class Trainer
{
    /// <summary>Trains a <see cref="SmallResNet"/> on <paramref name="train"/> by <paramref name="recipe"/>; returns it in eval mode on the training images' device.</summary>
    /// <param name="recipe">Architecture width, optimiser, schedule, augmentation, adversary and seed.</param>
    /// <param name="train">Training images [N,3,32,32] in [0,1] and int64 labels [N].</param>
    /// <param name="test">Images for a clean test accuracy after each epoch, or null for none.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="start">Weights to fine-tune (copied, not changed); their sha256 must be the recipe's <see cref="TrainingRecipe.StartWeightsSha256"/>.</param>
    /// <exception cref="ArgumentException">Start weights are given without a fine-tuning recipe, or a fine-tuning recipe without them.</exception>
    public static SmallResNet Train(TrainingRecipe recipe, LabelledImages train, LabelledImages? test, TextWriter log, SmallResNet? start = null)
    {
        if ((start is null) != (recipe.StartWeightsSha256 is null))
            throw new ArgumentException("a fine-tuning recipe (StartWeightsSha256) needs start weights, and start weights need such a recipe");
        var watch = Stopwatch.StartNew();
        var (images, labels) = Subset(train, recipe.TrainSubset);
        long count = images.shape[0];
        int batches = (int)((count + recipe.BatchSize - 1) / recipe.BatchSize);
        int totalSteps = batches * recipe.Epochs;

        var device = images.device;
        manual_seed(recipe.Seed);
        var model = new SmallResNet(train.ClassNames.Count, recipe.Width);
        DevicePlacement.To(model, device);
        if (start is not null) model.load_state_dict(start.state_dict());
        Runtime.ArithmeticSelfCheck.Ensure(model, $"SmallResNet (width {recipe.Width})", [3, SmallResNet.Side, SmallResNet.Side]); // never train on wrong arithmetic
        using var generator = new Generator((ulong)recipe.Seed + 1);
        var decay = model.parameters().Where(p => p.dim() > 1).ToList();
        var noDecay = model.parameters().Where(p => p.dim() <= 1).ToList();
        var optimizer = optim.SGD(
            [new TorchSharp.Modules.SGD.ParamGroup(decay, new TorchSharp.Modules.SGD.Options { weight_decay = recipe.WeightDecay }),
             new TorchSharp.Modules.SGD.ParamGroup(noDecay, new TorchSharp.Modules.SGD.Options { weight_decay = 0 })],
            recipe.LearningRate, recipe.Momentum, nesterov: recipe.Nesterov);
        log.WriteLine($"training {recipe.Describe()}");
        log.WriteLine($"  {count} training images, {batches} batches per epoch, {model.ParameterCount():N0} parameters, on {ComputeDevice.Name(device)}, {get_num_threads()} threads");
        log.Flush();

        int step = 0;
        for (int epoch = 0; epoch < recipe.Epochs; epoch++)
        {
            Tensor order;
            using (no_grad())
            using (var cpuOrder = randperm(count, generator: generator))
                order = cpuOrder.to(device);
            double lossSum = 0, correct = 0, seen = 0;
            for (int b = 0; b < batches; b++, step++)
            {
                using var scope = NewDisposeScope();
                var index = order.narrow(0, (long)b * recipe.BatchSize, Math.Min(recipe.BatchSize, count - (long)b * recipe.BatchSize));
                var x = images.index_select(0, index);
                var y = labels.index_select(0, index);
                using (no_grad()) x = Augmentation.CropAndFlip(x, recipe.CropPadding, recipe.HorizontalFlip, generator);
                if (recipe.Adversarial) x = Adversarial(model, x, y, recipe, step);

                model.train();
                double lr = LearningRate(recipe, step, totalSteps);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                optimizer.zero_grad();
                var logits = model.forward(x);
                var loss = nn.functional.cross_entropy(logits, y);
                loss.backward();
                optimizer.step();

                lossSum += loss.item<float>() * x.shape[0];
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += x.shape[0];
                if ((b + 1) % 20 == 0 || b == batches - 1)
                {
                    log.WriteLine($"  epoch {epoch + 1}/{recipe.Epochs} batch {b + 1}/{batches}: loss {lossSum / seen:F4}, " +
                                  $"{(recipe.Adversarial ? "adversarial " : "")}train accuracy {correct / seen:P1}, lr {lr:F4}, {watch.Elapsed.TotalMinutes:F1} min");
                    log.Flush();
                }
            }
            order.Dispose();
            if (test != null)
            {
                log.WriteLine($"  epoch {epoch + 1}: clean test accuracy {ModelEvaluation.Accuracy(model, test.Images, test.Labels):P2} ({watch.Elapsed.TotalMinutes:F1} min)");
                log.Flush();
            }
        }
        model.eval();
        log.WriteLine($"trained {recipe.Name} in {watch.Elapsed.TotalMinutes:F1} min");
        log.Flush();
        return model;
    }

    /// <summary>
    /// All images, or for a subset of n the first n / classes images of each class in loader order
    /// (the loader lists one class after another, so "the first n" would be one class only).
    /// </summary>
    public static (Tensor Images, Tensor Labels) Subset(LabelledImages train, int n)
    {
        if (n <= 0 || n >= train.Count) return (train.Images, train.Labels);
        using var scope = NewDisposeScope();
        int classes = train.ClassNames.Count;
        var picked = new List<Tensor>();
        for (long c = 0; c < classes; c++)
        {
            var index = nonzero(train.Labels.eq(c)).flatten();
            picked.Add(index.narrow(0, 0, Math.Min(index.shape[0], n / classes)));
        }
        var all = cat(picked).sort().Values;
        return (train.Images.index_select(0, all).MoveToOuterDisposeScope(), train.Labels.index_select(0, all).MoveToOuterDisposeScope());
    }

    /// <summary>The triangular schedule: 0 -> peak over the warm-up fraction of the steps, then linearly to 0 at the end.</summary>
    public static double LearningRate(TrainingRecipe recipe, int step, int totalSteps)
    {
        double t = (step + 0.5) / totalSteps, w = recipe.WarmupFraction;
        return recipe.LearningRate * (t < w ? t / w : (1 - t) / (1 - w));
    }

    /// <summary>L2 PGD examples of the current model for one minibatch (model in eval mode; see the class comment).</summary>
    static Tensor Adversarial(SmallResNet model, Tensor x, Tensor y, TrainingRecipe recipe, int step)
    {
        model.eval();
        var options = new PgdOptions
        {
            StepSize = recipe.AdversaryStepSize, Steps = recipe.AdversarySteps, RandomStart = true,
            // Recipe v1 (the committed weights): the final iterate, and the batch's random starts from
            // one generator, exactly as when the weights were trained, so that they stay reproducible.
            Choice = IterateChoice.Final, BatchGeneratorNoise = true,
        };
        using var result = Pgd.Run(CrossEntropyObjective.Untargeted(model, y), x, new L2Ball(recipe.AdversaryEps), new AttackRun(recipe.Seed * 1_000_003 + step), options);
        return result.Adversarial.detach().clone();
    }
}
