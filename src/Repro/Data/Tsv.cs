using System.Text;

namespace Repro.Data;

/// <summary>
/// Tab-separated values that stay valid whatever the fields hold (file names may contain tabs,
/// newlines and backslashes). Convention: PostgreSQL's COPY text format / "linear TSV" — one record
/// a line, fields separated by one tab, and inside a field backslash is written <c>\\</c>, tab
/// <c>\t</c>, newline <c>\n</c> and carriage return <c>\r</c>. Every other character is itself.
/// </summary>
internal static class Tsv
{
    public static string Escape(string field)
    {
        if (field.AsSpan().IndexOfAny("\\\t\n\r") < 0) return field;
        var b = new StringBuilder(field.Length + 8);
        foreach (char c in field)
            b.Append(c switch { '\\' => "\\\\", '\t' => "\\t", '\n' => "\\n", '\r' => "\\r", _ => c.ToString() });
        return b.ToString();
    }

    /// <summary>The inverse of <see cref="Escape"/>; an unknown escape keeps the character after the backslash.</summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var b = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] != '\\' || i + 1 == field.Length) { b.Append(field[i]); continue; }
            char next = field[++i];
            b.Append(next switch { 't' => '\t', 'n' => '\n', 'r' => '\r', _ => next });
        }
        return b.ToString();
    }

    /// <summary>One record: the fields escaped and joined by tabs (no line ending).</summary>
    public static string Line(IEnumerable<string> fields) => string.Join('\t', fields.Select(Escape));

    /// <summary>Splits one record into its unescaped fields.</summary>
    public static string[] Split(string line) => line.Split('\t').Select(Unescape).ToArray();
}
