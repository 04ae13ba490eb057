using System.Text;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// Something in a checkpoint that this reader will not or cannot read. Thrown deep inside the
/// reader, where the file is not known; <see cref="PyTorchCheckpoint.Read"/> turns it into a
/// <see cref="ReproInputException"/> that names the file.
/// </summary>
sealed class CheckpointFormatException(string message) : Exception(message)
{
    /// <summary>
    /// A string from the file as it may appear in a one-line message: control characters escaped
    /// (\uXXXX), at most <paramref name="maxLength"/> characters.
    /// </summary>
    public static string Printable(string text, int maxLength = 120)
    {
        var builder = new StringBuilder();
        foreach (char c in text.Length > maxLength ? text[..maxLength] : text)
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        return text.Length > maxLength ? builder + "…" : builder.ToString();
    }
}
