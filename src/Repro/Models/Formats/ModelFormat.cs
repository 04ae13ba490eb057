using System.IO.Compression;
using System.Text;
using Repro.Models.Formats.Onnx;

namespace Repro.Models.Formats;

/// <summary>The model file formats Repro reads.</summary>
public enum ModelFormat
{
    /// <summary>A name of <see cref="ModelRegistry"/> (weights under the model root).</summary>
    Registry,
    /// <summary>TensorFlow Lite FlatBuffer (identifier "TFL3" at byte 4).</summary>
    Tflite,
    /// <summary>ONNX ModelProto (protobuf).</summary>
    Onnx,
    /// <summary>TorchScript archive (torch.jit.save: a zip with code/ and constants.pkl).</summary>
    TorchScript,
}

/// <summary>
/// Recognises a model file's format from its content, never its name: the TFLite FlatBuffer
/// identifier, a TorchScript zip (entries under code/ or constants.pkl), an ONNX protobuf (parsed
/// and checked: IR version, opset import, a graph with nodes). Files that hold weights without an
/// architecture (a PyTorch state_dict or checkpoint, safetensors) and other formats are refused
/// with what was found and how to get a file Repro reads.
/// </summary>
public static class ModelFormatDetector
{
    /// <summary>The format of the file at <paramref name="path"/>, from its first bytes (and, for zips and ONNX, its structure).</summary>
    /// <exception cref="ReproInputException">The path is a folder, missing or empty; the file holds weights without an architecture (PyTorch state_dict or checkpoint, safetensors), is Keras/HDF5 or a damaged zip, or is no recognised format.</exception>
    public static ModelFormat Detect(string path)
    {
        if (Directory.Exists(path))
            throw new ReproInputException($"{path} is a folder (a TensorFlow SavedModel?): give a model file — convert a SavedModel to TFLite (tf.lite.TFLiteConverter) or ONNX (tf2onnx)");
        var info = new FileInfo(path);
        if (!info.Exists) throw new ReproInputException($"model file not found: {path}");
        byte[] head = new byte[64];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (read == 0) throw new ReproInputException($"{path}: the file is empty");

        if (read >= 8 && Encoding.Latin1.GetString(head, 4, 4) == "TFL3") return ModelFormat.Tflite;
        if (read >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return Zip(path);
        if (head[0] == 0x80 && read >= 2 && head[1] is >= 2 and <= 5)
            throw WeightsOnly(path, "a pickled PyTorch object (legacy torch.save)");
        if (read >= 9 && head[8] == '{' && BitConverter.ToUInt64(head, 0) is > 1 and < 100_000_000)
            throw WeightsOnly(path, "a safetensors file");
        if (read >= 8 && head[0] == 0x89 && Encoding.Latin1.GetString(head, 1, 3) == "HDF")
            throw new ReproInputException($"{path}: a Keras/HDF5 file, which Repro does not read: convert it to ONNX (tf2onnx) or TFLite (tf.lite.TFLiteConverter)");
        string? why = null;
        if (info.Length <= OnnxFile.MaxFileBytes && OnnxFile.TryParse(File.ReadAllBytes(path), out why) is not null) return ModelFormat.Onnx;
        // An ONNX file starts with field 1 (ir_version, a varint): say what reading it as ONNX found.
        string asOnnx = head[0] == 0x08 && why is not null ? $"; read as ONNX: {why}" : "";
        throw new ReproInputException($"{path}: not a model format Repro recognises (TensorFlow Lite, ONNX, TorchScript); it starts with bytes {Convert.ToHexString(head[..Math.Min(8, read)])}{asOnnx}");
    }

    static ModelFormat Zip(string path)
    {
        string[] entries;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            entries = zip.Entries.Take(100_000).Select(e => e.FullName).ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new ReproInputException($"{path}: a damaged zip archive ({e.Message})");
        }
        if (entries.Any(e => e.Contains("/code/") || e.StartsWith("code/") || e.EndsWith("constants.pkl"))) return ModelFormat.TorchScript;
        if (entries.Any(e => e.EndsWith("data.pkl")))
            throw WeightsOnly(path, "a PyTorch checkpoint (torch.save zip with data.pkl and no code/)");
        throw new ReproInputException($"{path}: a zip archive that is not a TorchScript model (no code/ or constants.pkl among its {entries.Length} entries)");
    }

    static ReproInputException WeightsOnly(string path, string what) =>
        new($"{path}: {what}: weights without an architecture, so there is no network to run. Save the model itself: " +
            "torch.jit.trace(model.eval(), example).save(\"model.pt\") (TorchScript) or torch.onnx.export(model, example, \"model.onnx\")");
}
