using System.Collections;
using System.Numerics;
using Razorvine.Pickle;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// PyTorch's tensor reconstruction functions as Razorvine constructors. Each checks its arguments
/// strictly and returns a <see cref="TensorRecipe"/>; nothing is computed from the arguments
/// except the view's geometry. Sources: torch/_utils.py (<c>_rebuild_tensor</c>,
/// <c>_rebuild_tensor_v2</c>, <c>_rebuild_parameter</c>, <c>_rebuild_parameter_with_state</c>)
/// and torch/_tensor.py (<c>Tensor.__reduce_ex__</c>).
/// </summary>
static class TensorRebuild
{
    public static IEnumerable<KeyValuePair<string, IObjectConstructor>> Globals() =>
    [
        new("torch._utils._rebuild_tensor_v2", new Function("_rebuild_tensor_v2", args => Tensor(args, 6, 7, withGrad: true))),
        new("torch._utils._rebuild_tensor", new Function("_rebuild_tensor", args => Tensor(args, 4, 4, withGrad: false))),
        new("torch._utils._rebuild_parameter", new Function("_rebuild_parameter", args => Parameter(args, 3))),
        new("torch._utils._rebuild_parameter_with_state", new Function("_rebuild_parameter_with_state", args => Parameter(args, 4))),
        new("torch.Size", new Function("torch.Size", args => args.Length == 1 && args[0] is object[] sizes ? sizes
            : throw new CheckpointFormatException("torch.Size expects one tuple of ints"))),
    ];

    sealed class Function(string name, Func<object[], object> body) : IObjectConstructor
    {
        public object construct(object[] args)
        {
            try { return body(args); }
            catch (Exception e) when (e is InvalidCastException or OverflowException or IndexOutOfRangeException)
            {
                throw new CheckpointFormatException($"{name} called with unexpected arguments ({e.Message})");
            }
        }
    }

    /// <summary>(storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]]).</summary>
    static TensorRecipe Tensor(object[] args, int minimum, int maximum, bool withGrad)
    {
        if (args.Length < minimum || args.Length > maximum)
            throw new CheckpointFormatException($"a tensor rebuild with {args.Length} arguments (expected {minimum}-{maximum})");
        if (args[0] is not StorageReference storage)
            throw new CheckpointFormatException($"a tensor rebuilt from {Describe(args[0])} instead of a storage");
        long offset = Integer(args[1], "storage offset");
        long[] size = Integers(args[2], "size");
        long[] stride = Integers(args[3], "stride");
        if (withGrad)
        {
            if (args[4] is not bool) throw new CheckpointFormatException($"requires_grad is {Describe(args[4])}");
            if (args[5] is Hashtable { Count: > 0 }) throw new CheckpointFormatException("a tensor with backward hooks");
            if (args[5] is not null and not Hashtable) throw new CheckpointFormatException($"backward_hooks is {Describe(args[5])}");
        }
        return new TensorRecipe(storage, offset, size, stride, isParameter: false);
    }

    /// <summary>(data, requires_grad, backward_hooks[, state]): the tensor itself, marked as a parameter.</summary>
    static TensorRecipe Parameter(object[] args, int count)
    {
        if (args.Length != count) throw new CheckpointFormatException($"a parameter rebuild with {args.Length} arguments (expected {count})");
        if (args[0] is not TensorRecipe data) throw new CheckpointFormatException($"a parameter rebuilt from {Describe(args[0])}");
        data.IsParameter = true;
        return data;
    }

    public static long Integer(object? value, string what) => value switch
    {
        int i => i,
        long l => l,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => throw new CheckpointFormatException($"{what} is {Describe(value)}, expected an integer"),
    };

    static long[] Integers(object? value, string what) => value switch
    {
        object[] tuple => tuple.Select(v => Integer(v, what)).ToArray(),
        ArrayList list => list.Cast<object?>().Select(v => Integer(v, what)).ToArray(),
        _ => throw new CheckpointFormatException($"{what} is {Describe(value)}, expected a tuple of integers"),
    };

    public static string Describe(object? value) => value switch
    {
        null => "None",
        Razorvine.Pickle.Objects.ClassDict d => $"an object of class {CheckpointFormatException.Printable(d.ClassName)}",
        _ => $"a {value.GetType().Name}",
    };
}
