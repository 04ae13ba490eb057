using OnnxProto = global::Onnx;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// The structure of an ONNX graph, checked: every value is written once (by a node, or as the
/// image input or an initialiser), every value a node reads exists, and the nodes are put in
/// topological order (Kahn's algorithm) — a cycle is refused naming nodes on it. ONNX requires files
/// to list nodes in that order already; sorting costs nothing and makes a damaged order harmless.
/// </summary>
internal sealed class OnnxGraph
{
    /// <summary>Nodes in an order where every node comes after the producers of its inputs.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The producing node of each value written by a node.</summary>
    public IReadOnlyDictionary<string, OnnxNode> Producers { get; }

    /// <summary>How many node inputs read each value (graph outputs not counted).</summary>
    public IReadOnlyDictionary<string, int> Readers { get; }

    OnnxGraph(IReadOnlyList<OnnxNode> nodes, Dictionary<string, OnnxNode> producers, Dictionary<string, int> readers)
    {
        Nodes = nodes;
        Producers = producers;
        Readers = readers;
    }

    /// <summary>Checks the graph and sorts its nodes topologically (Kahn's algorithm, file order among ties).</summary>
    /// <param name="nodes">The graph's nodes, in file order.</param>
    /// <param name="given">Values that exist before any node runs: the image input and the initialisers.</param>
    /// <param name="outputs">The graph outputs used; each must be given or written by a node.</param>
    /// <param name="source">The file, for messages.</param>
    /// <exception cref="ReproInputException">A value is written twice, read but never written, an output is written by no node, or the graph has a cycle.</exception>
    public static OnnxGraph Sort(IReadOnlyList<OnnxNode> nodes, IReadOnlySet<string> given, IEnumerable<string> outputs, string source)
    {
        var producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var node in nodes)
            foreach (string output in node.Outputs.Where(o => o.Length > 0))
            {
                if (given.Contains(output)) throw node.Error($"writes '{output}', which is already the graph's input or an initialiser");
                if (!producers.TryAdd(output, node)) throw node.Error($"writes '{output}', which {producers[output].Describe()} also writes");
            }

        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        var pending = new Dictionary<OnnxNode, int>();
        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            int waits = 0;
            foreach (string input in node.Inputs.Where(i => i.Length > 0))
            {
                readers[input] = readers.GetValueOrDefault(input) + 1;
                if (given.Contains(input)) continue;
                if (!producers.ContainsKey(input)) throw node.Error($"reads '{input}', which no node writes and which is neither the graph's input nor an initialiser");
                waits++;
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
            pending[node] = waits;
        }
        foreach (string output in outputs)
            if (!given.Contains(output) && !producers.ContainsKey(output))
                throw new ReproInputException($"{source}: graph output '{output}' is written by no node");

        // Kahn's algorithm, keeping the file's order among nodes that are ready together.
        var ready = new SortedSet<int>(nodes.Where(n => pending[n] == 0).Select(n => n.Index));
        var byIndex = nodes.ToDictionary(n => n.Index);
        var order = new List<OnnxNode>(nodes.Count);
        while (ready.Count > 0)
        {
            var node = byIndex[ready.Min];
            ready.Remove(ready.Min);
            order.Add(node);
            foreach (string output in node.Outputs.Where(o => o.Length > 0))
                if (consumers.TryGetValue(output, out var list))
                    foreach (var consumer in list)
                        if (--pending[consumer] == 0) ready.Add(consumer.Index);
        }
        if (order.Count != nodes.Count)
        {
            var stuck = nodes.Where(n => pending[n] > 0).Take(5).Select(n => n.Describe());
            throw new ReproInputException($"{source}: the graph has a cycle: {nodes.Count - order.Count} nodes wait on each other ({string.Join(", ", stuck)}{(nodes.Count - order.Count > 5 ? ", ..." : "")})");
        }
        return new OnnxGraph(order, producers, readers);
    }

    /// <summary>The graph's real inputs: those that are not initialisers (files before IR version 4 list the weights as inputs too).</summary>
    public static IReadOnlyList<OnnxProto.ValueInfoProto> ImageInputs(OnnxProto.GraphProto graph)
    {
        var initialisers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Input.Where(i => !initialisers.Contains(i.Name)).ToArray();
    }
}
