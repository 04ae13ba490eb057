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
/// </summary>
public static class CifarClaimSetup
{
    public static (SmallResNet Standard, SmallResNet Robust) Models(ExperimentContext context)
    {
        var standard = CifarModels.Get(TrainingRecipe.Standard, context.Paths, context.Log);
        var robust = CifarModels.Get(TrainingRecipe.Robust, context.Paths, context.Log);
        standard.eval();
        robust.eval();
        return (standard, robust);
    }

    public static LabelledImages Test(ExperimentContext context) => Cifar10.Load(context.Paths.DataRoot, Split.Test, Cifar10.CatVsAirplane);

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
        var t = top.data<float>().ToArray();
        var i = index.data<long>().ToArray();
        return t.Select((v, k) => $"{classNames[(int)i[k]]} {v * 100:F0}%").ToArray();
    }

    public static GridRow Row(string title, Tensor images, IReadOnlyList<string> captions) =>
        new(title, Enumerable.Range(0, (int)images.shape[0]).Select(k => new GridCell(images[k], captions[k])).ToList());
}
