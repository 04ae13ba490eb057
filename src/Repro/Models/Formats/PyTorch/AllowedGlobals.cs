using Razorvine.Pickle;
using Razorvine.Pickle.Objects;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// The only Python globals a checkpoint may name: what <c>torch.save</c> writes for tensors,
/// parameters, storages and state_dicts, and what pickle writes for plain containers under
/// protocol 2 (sets, bytes). The same list whether the file was written with <c>pickle</c> or
/// <c>dill</c>: dill pickles dicts, lists, tuples and OrderedDicts exactly as pickle does (checked
/// with dill 0.3.6: the robustness-layout fixtures name no other global). Each maps to a
/// constructor that builds plain .NET data; nothing from the file is ever executed. Anything else
/// (a pickled nn.Module class, <c>builtins.eval</c>, <c>posix.system</c>, ...) is refused by name.
/// </summary>
static class AllowedGlobals
{
    /// <summary>module.name (as the pickle spells it) to the constructor Razorvine calls.</summary>
    public static readonly IReadOnlyDictionary<string, IObjectConstructor> Constructors = Build();

    public static bool Contains(string global) => Constructors.ContainsKey(global);

    static Dictionary<string, IObjectConstructor> Build()
    {
        var constructors = new Dictionary<string, IObjectConstructor>
        {
            ["collections.OrderedDict"] = new OrderedDictConstructor(),
            // protocol 2 writes Python 3's builtins under their Python 2 module name
            ["builtins.set"] = new SetConstructor(),
            ["__builtin__.set"] = new SetConstructor(),
            ["builtins.frozenset"] = new SetConstructor(),
            ["__builtin__.frozenset"] = new SetConstructor(),
            ["_codecs.encode"] = new ByteArrayConstructor(), // bytes under protocol 2: _codecs.encode(text, 'latin1')
        };
        foreach (var (name, constructor) in TorchStorageTypes.Globals().Concat(TensorRebuild.Globals()))
            constructors[name] = constructor;
        return constructors;
    }

    /// <summary>
    /// <c>OrderedDict()</c>, or Python 2's <c>OrderedDict([[key, value], ...])</c>; entries then
    /// arrive through SETITEMS and attributes through BUILD.
    /// </summary>
    sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length == 0) return new PickleOrderedDict();
            if (args.Length != 1 || args[0] is not System.Collections.IList items)
                throw new CheckpointFormatException("OrderedDict called with unexpected arguments");
            return PickleOrderedDict.FromPairs(items.Cast<object?>().Select(item =>
                item is System.Collections.IList { Count: 2 } pair && pair[0] is { } key ? (key, pair[1])
                : throw new CheckpointFormatException("OrderedDict called with an item that is not a (key, value) pair")));
        }
    }
}
