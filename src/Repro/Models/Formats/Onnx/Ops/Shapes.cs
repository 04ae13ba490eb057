using static TorchSharp.torch;

namespace Repro.Models.Formats.Onnx.Ops;

/// <summary>ONNX Identity, and Dropout in inference (the identity; its mask output is not computed).</summary>
internal sealed class IdentityOp(OnnxNode node) : OnnxOp(node)
{
    public override Tensor[] Run(Tensor?[] inputs) => [Input(inputs, 0, "input").alias()];
}

/// <summary>ONNX Flatten: [d0..dn] to [d0*..*d(axis-1), d(axis)*..*dn]; axis 1 by default, negative from opset 11.</summary>
internal sealed class FlattenOp(OnnxNode node) : OnnxOp(node)
{
    readonly long axis = node.Int("axis", 1);

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "input");
        long rank = x.dim();
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a > rank) throw Node.Error($"axis {axis} is out of range for {Shape(x)}");
        long outer = x.shape.Take((int)a).Aggregate(1L, (p, d) => p * d);
        long inner = x.shape.Skip((int)a).Aggregate(1L, (p, d) => p * d);
        return [x.reshape(outer, inner)];
    }
}

/// <summary>
/// ONNX Reshape (shape as an input from opset 5): 0 copies the input's dimension at that position
/// (unless allowzero = 1, opset 14), -1 is inferred from the element count.
/// </summary>
internal sealed class ReshapeOp(OnnxNode node) : OnnxOp(node)
{
    readonly bool allowZero = node.Int("allowzero", 0) != 0;

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long[] shape = Longs(Input(inputs, 1, "shape"), "shape");
        if (shape.Count(d => d == -1) > 1) throw Node.Error($"shape {Dims(shape)} has more than one -1");
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < -1) throw Node.Error($"shape {Dims(shape)} has a negative dimension");
            if (shape[i] == 0 && !allowZero)
            {
                if (i >= x.dim()) throw Node.Error($"shape {Dims(shape)} copies dimension {i} (0) of {Shape(x)}, which it does not have");
                shape[i] = x.shape[i];
            }
        }
        long known = shape.Where(d => d != -1).Aggregate(1L, (p, d) => p * d);
        long count = x.numel();
        if (shape.Contains(-1) ? known == 0 || count % known != 0 : known != count)
            throw Node.Error($"cannot reshape {Shape(x)} ({count} elements) to {Dims(shape)}");
        return [x.reshape(shape)];
    }
}

/// <summary>ONNX Transpose: permute the axes by perm (reversed by default).</summary>
internal sealed class TransposeOp(OnnxNode node) : OnnxOp(node)
{
    readonly long[]? perm = node.Ints("perm");

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long rank = x.dim();
        long[] p = perm ?? Enumerable.Range(0, (int)rank).Reverse().Select(i => (long)i).ToArray();
        if (p.Length != rank || p.Order().Where((v, i) => v != i).Any()) throw Node.Error($"perm {Dims(p)} is not a permutation of {rank} axes");
        return [x.permute(p)];
    }
}

/// <summary>ONNX Concat along axis (negative from opset 11).</summary>
internal sealed class ConcatOp : OnnxOp
{
    readonly long axis;

    public ConcatOp(OnnxNode node) : base(node)
    {
        if (!node.Has("axis")) throw node.Error("axis is missing");
        axis = node.Int("axis", 0);
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var parts = inputs.Select((t, i) => t ?? throw Node.Error($"input {i} is missing")).ToArray();
        if (parts.Length == 0) throw Node.Error("has no inputs");
        long a = Axis(axis, parts[0].dim());
        foreach (var p in parts)
            if (p.dim() != parts[0].dim() || Enumerable.Range(0, (int)p.dim()).Any(d => d != a && p.shape[d] != parts[0].shape[d]))
                throw Node.Error($"inputs {string.Join(", ", parts.Select(Shape))} do not fit together along axis {axis}");
        return [cat(parts, a)];
    }
}

/// <summary>
/// ONNX Split along axis: sizes from the split attribute (before opset 13) or input (13+), else
/// num_outputs (18+, the last part may be smaller), else equal parts, one per output.
/// </summary>
internal sealed class SplitOp(OnnxNode node) : OnnxOp(node)
{
    readonly long axis = node.Int("axis", 0);

    public override int ComputedOutputs => Node.Outputs.Length;

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "input");
        long a = Axis(axis, x.dim());
        long size = x.shape[a];
        int parts = Node.Outputs.Length;
        long[]? sizes = Node.Opset < 13 ? Node.Ints("split") : inputs.Length > 1 && inputs[1] is Tensor s ? Longs(s, "split") : null;
        if (sizes is null)
        {
            long chunk = Node.Opset >= 18 && Node.Has("num_outputs") ? (size + parts - 1) / parts : size / parts;
            if (Node.Opset < 18 && size % parts != 0) throw Node.Error($"cannot split {size} into {parts} equal parts");
            sizes = Enumerable.Range(0, parts).Select(i => Math.Max(0, Math.Min(chunk, size - i * chunk))).ToArray();
        }
        if (sizes.Length != parts || sizes.Any(v => v < 0) || sizes.Sum() != size)
            throw Node.Error($"split sizes {Dims(sizes)} do not divide axis {a} of {Shape(x)} into {parts} outputs");
        var result = new Tensor[parts];
        long start = 0;
        for (int i = 0; i < parts; i++)
        {
            result[i] = x.narrow(a, start, sizes[i]);
            start += sizes[i];
        }
        return result;
    }
}

/// <summary>ONNX Squeeze (axes attribute before opset 13, input after; all size-1 axes when absent) and Unsqueeze (axes of the output).</summary>
internal sealed class SqueezeOp(OnnxNode node) : OnnxOp(node)
{
    readonly bool unsqueeze = node.OpType == "Unsqueeze";

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long[]? axes = Node.Opset < 13 ? Node.Ints("axes") : inputs.Length > 1 && inputs[1] is Tensor t ? Longs(t, "axes") : null;
        if (unsqueeze)
        {
            if (axes is null || axes.Length == 0) throw Node.Error("axes are missing");
            long rank = x.dim() + axes.Length;
            var normalised = axes.Select(v => Axis(v, rank, "axes")).Order().ToArray();
            if (normalised.Distinct().Count() != normalised.Length) throw Node.Error($"axes {Dims(axes)} repeat an axis");
            var shape = x.shape.ToList();
            foreach (long v in normalised) shape.Insert((int)v, 1);
            return [x.reshape(shape.ToArray())];
        }
        var drop = axes is null ? Enumerable.Range(0, (int)x.dim()).Where(d => x.shape[d] == 1).Select(d => (long)d).ToHashSet()
            : axes.Select(v => Axis(v, x.dim(), "axes")).ToHashSet();
        foreach (long d in drop)
            if (x.shape[d] != 1) throw Node.Error($"cannot squeeze axis {d} of {Shape(x)}: its size is not 1");
        return [x.reshape(x.shape.Where((_, d) => !drop.Contains(d)).ToArray())];
    }
}

/// <summary>ONNX Shape: the input's dimensions as an int64 vector on the CPU (start/end from opset 15).</summary>
internal sealed class ShapeOp(OnnxNode node) : OnnxOp(node)
{
    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long rank = x.dim();
        long Clamp(long v) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        long start = Clamp(Node.Int("start", 0)), end = Node.Has("end") ? Clamp(Node.Int("end", rank)) : rank;
        return [tensor(x.shape.Skip((int)start).Take((int)Math.Max(0, end - start)).ToArray(), dtype: ScalarType.Int64)];
    }
}

/// <summary>ONNX Gather along axis, numpy take: negative indices count from the end.</summary>
internal sealed class GatherOp(OnnxNode node) : OnnxOp(node)
{
    readonly long axis = node.Int("axis", 0);

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var data = Input(inputs, 0, "data");
        var indices = Input(inputs, 1, "indices");
        if (indices.is_floating_point()) throw Node.Error($"indices must be integers, got {indices.dtype}");
        long a = Axis(axis, data.dim());
        long size = data.shape[a];
        using var scope = NewDisposeScope();
        var flat = indices.to(ScalarType.Int64).flatten();
        flat = where(flat.lt(0), flat + size, flat);
        if (flat.numel() > 0 && (flat.min().item<long>() < 0 || flat.max().item<long>() >= size))
            throw Node.Error($"indices are out of range for axis {a} of {Shape(data)}");
        var picked = data.index_select(a, flat.to(data.device));
        long[] shape = [.. data.shape.Take((int)a), .. indices.shape, .. data.shape.Skip((int)a + 1)];
        return [picked.reshape(shape).MoveToOuterDisposeScope()];
    }
}

/// <summary>
/// ONNX Slice: starts, ends, axes as attributes before opset 10, as inputs (with steps) after;
/// starts and ends are clamped as the operator specifies, negative steps walk backwards.
/// </summary>
internal sealed class SliceOp(OnnxNode node) : OnnxOp(node)
{
    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "data");
        long[] starts, ends;
        long[]? axes, steps = null;
        if (Node.Opset < 10)
        {
            starts = Node.Ints("starts") ?? throw Node.Error("starts are missing");
            ends = Node.Ints("ends") ?? throw Node.Error("ends are missing");
            axes = Node.Ints("axes");
        }
        else
        {
            starts = Longs(Input(inputs, 1, "starts"), "starts");
            ends = Longs(Input(inputs, 2, "ends"), "ends");
            axes = inputs.Length > 3 && inputs[3] is Tensor a ? Longs(a, "axes") : null;
            steps = inputs.Length > 4 && inputs[4] is Tensor s ? Longs(s, "steps") : null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw Node.Error($"starts {Dims(starts)}, ends {Dims(ends)}, axes {Dims(axes)} and steps {Dims(steps)} differ in length");

        using var scope = NewDisposeScope();
        var y = x;
        for (int i = 0; i < starts.Length; i++)
        {
            long axis = Axis(axes[i], x.dim(), "axes");
            long dim = x.shape[axis], step = steps[i];
            if (step == 0) throw Node.Error("a step is 0");
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                y = step == 1 ? y.narrow(axis, start, Math.Max(0, end - start))
                    : y.index_select(axis, arange(start, Math.Max(start, end), step, dtype: ScalarType.Int64, device: x.device));
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                y = y.index_select(axis, arange(start, Math.Min(start, end), step, dtype: ScalarType.Int64, device: x.device));
            }
        }
        return [(ReferenceEquals(y, x) ? x.alias() : y).MoveToOuterDisposeScope()];
    }
}

/// <summary>
/// ONNX Cast. Floating targets (float, double, float16, bfloat16) stay float32, the arithmetic the
/// network runs in; integer targets become int64 (shape arithmetic), bool stays bool.
/// </summary>
internal sealed class CastOp : OnnxOp
{
    readonly ScalarType target;

    public CastOp(OnnxNode node) : base(node)
    {
        if (!node.Has("to")) throw node.Error("'to' is missing");
        var to = (global::Onnx.TensorProto.Types.DataType)node.Int("to", 0);
        target = to switch
        {
            global::Onnx.TensorProto.Types.DataType.Float or global::Onnx.TensorProto.Types.DataType.Double
                or global::Onnx.TensorProto.Types.DataType.Float16 or global::Onnx.TensorProto.Types.DataType.Bfloat16 => ScalarType.Float32,
            global::Onnx.TensorProto.Types.DataType.Bool => ScalarType.Bool,
            global::Onnx.TensorProto.Types.DataType.Int64 or global::Onnx.TensorProto.Types.DataType.Int32 or global::Onnx.TensorProto.Types.DataType.Int16
                or global::Onnx.TensorProto.Types.DataType.Int8 or global::Onnx.TensorProto.Types.DataType.Uint8
                or global::Onnx.TensorProto.Types.DataType.Uint16 or global::Onnx.TensorProto.Types.DataType.Uint32 => ScalarType.Int64,
            _ => throw node.Error($"casting to {OnnxTensors.Name(to)} is not supported"),
        };
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        var x = Input(inputs, 0, "input");
        // A float network may run in float64 (model.to(float64)): keep the input's floating type.
        var type = target == ScalarType.Float32 && x.is_floating_point() ? x.dtype : target;
        return [x.dtype == type ? x.alias() : x.to_type(type)];
    }
}

/// <summary>ONNX ConstantOfShape: a tensor of the given shape filled with value (float 0 by default).</summary>
internal sealed class ConstantOfShapeOp : OnnxOp
{
    readonly Tensor value;

    public ConstantOfShapeOp(OnnxNode node, IOnnxConstants constants) : base(node)
    {
        value = node.Tensor("value") is { } t ? OnnxTensors.ToTorch(t, node.Source, $"{node.Describe()} value", constants.Folder) : tensor(0f).reshape(1);
        if (value.numel() != 1) throw node.Error($"value must hold one element, holds {value.numel()}");
    }

    public override Tensor[] Run(Tensor?[] inputs)
    {
        long[] shape = Longs(Input(inputs, 0, "input"), "shape");
        OnnxLimits.Check(Node, shape);
        return [value.reshape([]).expand(shape).clone()];
    }
}

/// <summary>
/// ONNX Constant: value (a tensor), or value_float / value_floats / value_int / value_ints (opset 12);
/// sparse and string constants are refused.
/// </summary>
internal sealed class ConstantOp : OnnxOp
{
    readonly Tensor value;

    public ConstantOp(OnnxNode node, IOnnxConstants constants) : base(node)
    {
        if (node.Tensor("value") is { } t) value = OnnxTensors.ToTorch(t, node.Source, $"{node.Describe()} value", constants.Folder);
        else if (node.Has("value_float")) value = tensor(node.Float("value_float", 0));
        else if (node.Floats("value_floats") is { } fs) value = tensor(fs);
        else if (node.Has("value_int")) value = tensor(node.Int("value_int", 0));
        else if (node.Ints("value_ints") is { } ls) value = tensor(ls);
        else throw node.Error($"has no value the importer reads (attributes: {string.Join(", ", node.AttributeNames)}; sparse and string constants are not supported)");
    }

    public override Tensor[] Run(Tensor?[] inputs) => [value.clone()];
}
