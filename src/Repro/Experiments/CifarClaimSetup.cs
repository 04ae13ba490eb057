using Repro.Data;
using Repro.Models;
using Repro.Report;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// What claims 3-5 on CIFAR-10 share: the pair of models (standard and adversarially trained,
/// <see cref="CifarModels"/>: committed weights, else the cache, else training) and fixed,
/// class-balanced subsets of the cat/airplane test split. The loader lists all cats (label 0)
/// before all airplanes (label 1), so "the first n test images" would be all cats; a subset here is
/// the first k cats and the first k airplanes in loader order (file-name order), cats first.
/// Models and images are on the context's device.
/// </summary>
internal static class CifarClaimSetup
{
    public static (SmallResNet Standard, SmallResNet Robust) Models(ExperimentContext context)
    {
        var standard = context.OnDevice(CifarModels.Get(TrainingRecipe.Standard, context.Paths, context.Log, device: context.Device));
        var robust = context.OnDevice(CifarModels.Get(TrainingRecipe.Robust, context.Paths, context.Log, device: context.Device));
        standard.eval();
        robust.eval();
        return (standard, robust);
    }

    /// <summary>The cat/airplane test split on the context's device.</summary>
    public static LabelledImages Test(ExperimentContext context)
    {
        using var onCpu = Cifar10.Load(context.Paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);
        return context.OnDevice(onCpu);
    }

    /// <summary>The first <paramref name="perClass"/> images of each label, in loader order, label 0 first.</summary>
    public static LabelledImages FirstPerClass(LabelledImages set, int perClass)
    {
        using var scope = NewDisposeScope();
        var labels = set.Labels;
        var picked = new List<Tensor>();
        for (long c = 0; c < set.ClassNames.Count; c++)
        {
            var index = nonzero(labels.eq(c)).flatten();
            if (index.shape[0] < perClass) throw new ReproInputException($"the test split has only {index.shape[0]} images of {set.ClassNames[(int)c]}, need {perClass}");
            picked.Add(index.narrow(0, 0, perClass));
        }
        var all = cat(picked);
        var images = set.Images.index_select(0, all).MoveToOuterDisposeScope();
        var chosen = labels.index_select(0, all).MoveToOuterDisposeScope();
        return new LabelledImages(images, chosen, set.ClassNames);
    }

    /// <summary>The indices in <paramref name="set"/> of the images <see cref="FirstPerClass"/> picks, in the same order (stable example ids).</summary>
    public static long[] FirstPerClassIndices(LabelledImages set, int perClass)
    {
        var labels = set.Labels.data<long>().ToArray();
        return Enumerable.Range(0, set.ClassNames.Count)
            .SelectMany(c => Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).Take(perClass).Select(i => (long)i)).ToArray();
    }

    /// <summary>"cat 97%": the predicted class and its probability.</summary>
    public static string[] Captions(nn.Module<Tensor, Tensor> model, Tensor images, IReadOnlyList<string> classNames)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var p = nn.functional.softmax(model.forward(images), 1);
        var (top, index) = p.max(1);
        var t = top.cpu().data<float>().ToArray();
        var i = index.cpu().data<long>().ToArray();
        return t.Select((v, k) => $"{classNames[(int)i[k]]} {v * 100:F0}%").ToArray();
    }

    /// <summary>Indices of the first <paramref name="perClassShown"/> images of each class of a set made by <see cref="FirstPerClass"/> with <paramref name="perClass"/>, on <paramref name="device"/>: what a figure shows.</summary>
    public static Tensor Shown(int classes, long perClass, long perClassShown, Device device) =>
        cat(Enumerable.Range(0, classes).Select(c => arange(c * perClass, c * perClass + Math.Min(perClassShown, perClass), dtype: ScalarType.Int64, device: device)).ToList());

    public static GridRow Row(string title, Tensor images, IReadOnlyList<string> captions) =>
        new(title, Enumerable.Range(0, (int)images.shape[0]).Select(k => new GridCell(images[k], captions[k])).ToList());
}
