using Google.Protobuf;
using OnnxProto = global::Onnx;

namespace Repro.Models.Formats.Onnx;

/// <summary>
/// Reads an ONNX file (a protobuf ModelProto, parsed by Google.Protobuf with the official
/// onnx.proto) and checks what the importer relies on: an IR version with operator-set imports
/// (3 or later), a default-domain opset between <see cref="MinOpset"/> and <see cref="MaxOpset"/>,
/// and a graph with nodes. Anything else — a truncated file, another format, a protobuf that is not
/// a model — raises <see cref="ReproInputException"/> naming the file. Google.Protobuf reads from
/// the file's bytes, so no length declared inside the file can make it read or allocate past them.
/// </summary>
internal static class OnnxFile
{
    public const int MinOpset = 7, MaxOpset = 21;

    /// <summary>Protobuf cannot encode messages over 2 GB; bigger models keep their weights in external data files.</summary>
    public const long MaxFileBytes = int.MaxValue;

    public static OnnxProto.ModelProto Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new ReproInputException($"ONNX model file not found: {path}");
        if (info.Length > MaxFileBytes)
            throw new ReproInputException($"{path}: {info.Length} bytes is more than a protobuf can hold (2 GB); large ONNX models keep their weights in external data files");
        return Parse(File.ReadAllBytes(path), path);
    }

    public static OnnxProto.ModelProto Parse(byte[] bytes, string source)
    {
        var model = TryParse(bytes, out string? why);
        if (model is null) throw new ReproInputException($"{source}: not a readable ONNX model: {why}");
        var opset = DefaultOpset(model);
        if (opset is null)
            throw new ReproInputException($"{source}: the model imports no opset of the default ONNX domain (imports: {Imports(model)})");
        if (opset < MinOpset)
            throw new ReproInputException($"{source}: opset {opset} is older than the importer reads ({MinOpset}-{MaxOpset}); convert it with onnx.version_converter");
        return model;
    }

    /// <summary>
    /// Parses and sanity-checks the bytes as a ModelProto, or returns null with the reason. Random
    /// bytes can parse as some protobuf; a model needs an IR version, an opset import and a graph
    /// with at least one node, which other files practically never have.
    /// </summary>
    public static OnnxProto.ModelProto? TryParse(byte[] bytes, out string? why)
    {
        OnnxProto.ModelProto model;
        try
        {
            model = OnnxProto.ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            why = $"the protobuf is truncated or corrupt ({e.Message})";
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException or OutOfMemoryException)
        {
            why = $"the protobuf is corrupt ({e.GetType().Name}: {e.Message})";
            return null;
        }
        why = model.IrVersion < 3 ? $"IR version {model.IrVersion} (a model has 3 or later, which import operator sets)"
            : model.OpsetImport.Count == 0 ? "no operator set is imported"
            : model.Graph is null ? "there is no graph"
            : model.Graph.Node.Count == 0 ? "the graph has no nodes"
            : null;
        return why is null ? model : null;
    }

    /// <summary>The version of the default domain ("" or "ai.onnx") the model imports, or null.</summary>
    public static long? DefaultOpset(OnnxProto.ModelProto model) =>
        model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => (long?)o.Version).Max();

    static string Imports(OnnxProto.ModelProto model) =>
        string.Join(", ", model.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}"));
}
