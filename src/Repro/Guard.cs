using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Repro;

/// <summary>
/// The checks every public entry point makes of its arguments, once, with the parameter's name:
/// null arguments (<see cref="ArgumentNullException"/>), and values that libtorch would accept and
/// get wrong or fail on with a C++ trace (<see cref="ReproArgumentException"/>).
/// </summary>
internal static class Guard
{
    /// <summary>Images may exceed [0,1] by this much (float rounding of a decoder's or a projection's arithmetic).</summary>
    const double RangeSlack = 1e-5;

    /// <summary>The value, or <see cref="ArgumentNullException"/> naming it.</summary>
    public static T NotNull<T>(T? value, [CallerArgumentExpression(nameof(value))] string name = "") where T : class =>
        value ?? throw new ArgumentNullException(name);

    /// <summary>
    /// Images [N,C,H,W] (N >= 1), floating point, finite, in [0,1] (the model's normalisation is inside
    /// the model): anything else is refused, e.g. images in 0..255, which an attack would otherwise treat
    /// as a ball 255 times too small and leave.
    /// </summary>
    public static Tensor Images(Tensor? images, [CallerArgumentExpression(nameof(images))] string name = "") => Inputs(images, 4, name);

    /// <summary>As <see cref="Images"/>, for the threat models' and the gradient loop's [N,...] inputs of any rank >= 2 (flattened images of a linear model too).</summary>
    public static Tensor Inputs(Tensor? images, int rank, [CallerArgumentExpression(nameof(images))] string name = "")
    {
        NotNull(images, name);
        if (rank == 4 && images!.dim() != 4) throw new ReproArgumentException(name, $"images must be [N,C,H,W], got [{string.Join(",", images.shape)}]");
        if (images!.dim() < 2) throw new ReproArgumentException(name, $"images must be [N,...] with one row per example, got [{string.Join(",", images.shape)}]");
        if (images.shape[0] < 1) throw new ReproArgumentException(name, "no images (N = 0)");
        if (!images.is_floating_point()) throw new ReproArgumentException(name, $"images must be floating point in [0,1], got {images.dtype}");
        using var scope = NewDisposeScope();
        var flat = images.detach();
        double min = flat.min().to_type(ScalarType.Float64).item<double>(), max = flat.max().to_type(ScalarType.Float64).item<double>();
        if (double.IsNaN(min) || double.IsNaN(max) || double.IsInfinity(min) || double.IsInfinity(max))
            throw new ReproArgumentException(name, "images hold NaN or infinite values");
        if (min < -RangeSlack || max > 1 + RangeSlack)
            throw new ReproArgumentException(name, $"images must be in [0,1] (the model normalises inside), got values in [{min:G4}, {max:G4}]" +
                                                   (max > 1.5 ? "; divide 8-bit images by 255" : ""));
        return images;
    }

    /// <summary>Class indices [N] (labels or targets): int64, one per image of a batch of <paramref name="batch"/>, each >= 0.</summary>
    public static Tensor Classes(Tensor? classes, long batch, [CallerArgumentExpression(nameof(classes))] string name = "")
    {
        NotNull(classes, name);
        if (classes!.dim() != 1) throw new ReproArgumentException(name, $"must be one class index per image, [N], got [{string.Join(",", classes.shape)}]");
        if (classes.dtype != ScalarType.Int64) throw new ReproArgumentException(name, $"class indices must be int64, got {classes.dtype}");
        if (classes.shape[0] != batch) throw new ReproArgumentException(name, $"{classes.shape[0]} class indices for a batch of {batch} images");
        if (batch > 0)
        {
            using var scope = NewDisposeScope();
            long min = classes.min().item<long>();
            if (min < 0) throw new ReproArgumentException(name, $"class indices must be >= 0, got {min}");
        }
        return classes;
    }

    /// <summary>Class indices that fit a model with <paramref name="classes"/> outputs (checked when the logits are first seen).</summary>
    public static void ClassesFit(Tensor indices, long classes, string name)
    {
        if (indices.numel() == 0) return;
        using var scope = NewDisposeScope();
        long max = indices.max().item<long>();
        if (max >= classes) throw new ReproArgumentException(name, $"class index {max} is outside the model's {classes} classes (0..{classes - 1})");
    }

    /// <summary>A count or size that must be at least <paramref name="minimum"/>.</summary>
    public static int AtLeast(int value, int minimum, [CallerArgumentExpression(nameof(value))] string name = "") =>
        value >= minimum ? value : throw new ReproArgumentException(name, $"must be >= {minimum}, got {value}");

    /// <summary>Example ids: one per image of a batch of <paramref name="batch"/> (null: the images' own hashes).</summary>
    public static void Ids(IReadOnlyList<long>? ids, long batch, [CallerArgumentExpression(nameof(ids))] string name = "")
    {
        if (ids is not null && ids.Count != batch) throw new ReproArgumentException(name, $"{ids.Count} example ids for a batch of {batch} images");
    }

    /// <summary>A call's <see cref="Attacks.AttackRun"/>: not null, one example id per image of a batch of <paramref name="batch"/> (or none), a defined precision.</summary>
    public static Attacks.AttackRun Run(Attacks.AttackRun? run, long batch, [CallerArgumentExpression(nameof(run))] string name = "")
    {
        NotNull(run, name);
        Ids(run!.ExampleIds, batch, name + ".ExampleIds");
        if (!Enum.IsDefined(run.Precision)) throw new ReproArgumentException(name + ".Precision", $"must be one of {string.Join(", ", Enum.GetNames<Attacks.AttackPrecision>())}, got {(int)run.Precision}");
        return run;
    }
}
