using System.Net;
using System.Text;

namespace Repro.Report;

/// <summary>How a row, cell, paragraph or word is shaded: the verdict colours every HTML output shares.</summary>
internal enum Shade { None, Pass, Fail, NotRun, Note }

/// <summary>One cell of an HTML table: markup (escape text with <see cref="HtmlWriter.Text"/>) and its shade.</summary>
internal readonly record struct HtmlCell(string Markup, Shade Shade = Shade.None)
{
    /// <summary>A cell of <paramref name="markup"/>, unshaded.</summary>
    public static implicit operator HtmlCell(string markup) => new(markup);
}

/// <summary>One row of an HTML table: its cells and its shade.</summary>
internal sealed record HtmlRow(IReadOnlyList<HtmlCell> Cells, Shade Shade = Shade.None);

/// <summary>
/// The one HTML writer: every HTML the project writes (report.html, robustness.html, the notebook's
/// claim fragments) is made here, so escaping, the page head and its stylesheet, the verdict colours,
/// tables, embedded figures and links are written one way. Pages are self-contained: no scripts, no
/// external resource, figures embedded as data URIs.
///
/// Methods that take <c>text</c> escape it; methods that take <c>markup</c> insert it as it is, and
/// their callers build it from <see cref="Text"/>, <see cref="Bold"/>, <see cref="Code"/>,
/// <see cref="Link"/> and <see cref="Shaded"/>. A page (<see cref="Page"/>) shades through its
/// stylesheet's classes; a fragment (<see cref="Fragment"/>, shown inside a page this writer did not
/// make, such as a notebook) has no stylesheet, so it shades with inline styles of the same colours.
/// </summary>
internal sealed class HtmlWriter
{
    // One declaration per shade: the page's stylesheet classes and a fragment's inline styles.
    static readonly Dictionary<Shade, (string Class, string Style)> Shades = new()
    {
        [Shade.Pass] = ("pass", "background:#d9f2d9"),
        [Shade.Fail] = ("fail", "background:#f8d0d0"),
        [Shade.NotRun] = ("notrun", "background:#fff2c2"),
        [Shade.Note] = ("note", "background:#fff8e0;border-left:4px solid #e0a800;padding:6px 10px;margin:6px 0"),
    };

    static readonly string Stylesheet =
        "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;max-width:1400px;color:#222}\n" +
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\n" +
        string.Concat(Shades.Values.Select(s => $".{s.Class}{{{s.Style}}}")) + "\n" +
        "img{max-width:100%;border:1px solid #ddd;margin:6px 0}pre{background:#f6f6f6;padding:8px;overflow-x:auto}\n";

    readonly StringBuilder html = new();
    readonly bool fragment;

    HtmlWriter(bool fragment) => this.fragment = fragment;

    /// <summary>A self-contained page titled <paramref name="title"/> (text): doctype, head with the stylesheet, body.</summary>
    public static HtmlWriter Page(string title)
    {
        var writer = new HtmlWriter(fragment: false);
        writer.html.Append($"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{Text(title)}</title>\n<style>\n{Stylesheet}</style></head><body>\n");
        return writer;
    }

    /// <summary>A fragment (one <c>div</c>) to be shown inside another page: shades are inline styles.</summary>
    public static HtmlWriter Fragment()
    {
        var writer = new HtmlWriter(fragment: true);
        writer.html.Append("<div>");
        return writer;
    }

    /// <summary><paramref name="text"/> escaped for HTML.</summary>
    public static string Text(string text) => WebUtility.HtmlEncode(text);

    /// <summary><paramref name="text"/> in bold.</summary>
    public static string Bold(string text) => $"<b>{Text(text)}</b>";

    /// <summary><paramref name="text"/> as code.</summary>
    public static string Code(string text) => $"<code>{Text(text)}</code>";

    /// <summary>A link to <paramref name="href"/> (a relative path or an anchor "#id"; escaped) showing <paramref name="markup"/>.</summary>
    public static string Link(string href, string markup) => $"<a href=\"{Text(href)}\">{markup}</a>";

    /// <summary><paramref name="text"/> on the colour of <paramref name="shade"/> (a verdict word).</summary>
    public string Shaded(string text, Shade shade) =>
        fragment ? $"<span{Attribute(shade, ";padding:1px 6px")}>{Text(text)}</span>" : $"<span{Attribute(shade)}>{Text(text)}</span>";

    /// <summary>A heading of <paramref name="level"/> (1-6), with an anchor <paramref name="id"/> when given.</summary>
    public HtmlWriter Heading(int level, string markup, string? id = null)
    {
        html.Append($"<h{level}{(id is null ? "" : $" id=\"{Text(id)}\"")}>{markup}</h{level}>\n");
        return this;
    }

    /// <summary>A paragraph of <paramref name="markup"/>, shaded as <paramref name="shade"/>.</summary>
    public HtmlWriter Paragraph(string markup, Shade shade = Shade.None)
    {
        html.Append($"<p{Attribute(shade, fragment && shade != Shade.Note ? ";padding:4px 8px" : "")}>{markup}</p>\n");
        return this;
    }

    /// <summary>A bulleted list, one item of markup each.</summary>
    public HtmlWriter List(IEnumerable<string> items)
    {
        html.Append("<ul>").Append(string.Concat(items.Select(i => $"<li>{i}</li>"))).Append("</ul>\n");
        return this;
    }

    /// <summary><paramref name="text"/> preformatted (line breaks kept).</summary>
    public HtmlWriter Preformatted(string text)
    {
        html.Append($"<pre>{Text(text)}</pre>\n");
        return this;
    }

    /// <summary>A table with a header row of <paramref name="headers"/> (text) and the rows.</summary>
    public HtmlWriter Table(IEnumerable<string> headers, IEnumerable<HtmlRow> rows)
    {
        html.Append("<table><tr>").Append(string.Concat(headers.Select(h => $"<th>{Text(h)}</th>"))).Append("</tr>\n");
        foreach (var row in rows)
            html.Append($"<tr{Attribute(row.Shade)}>").Append(string.Concat(row.Cells.Select(c => $"<td{Attribute(c.Shade)}>{c.Markup}</td>"))).Append("</tr>\n");
        html.Append("</table>\n");
        return this;
    }

    /// <summary>A PNG figure embedded as a data URI, captioned (and described) by <paramref name="name"/>.</summary>
    public HtmlWriter Figure(string name, byte[] png)
    {
        html.Append($"<figure><img alt=\"{Text(name)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"><figcaption>{Text(name)}</figcaption></figure>\n");
        return this;
    }

    /// <summary>The finished HTML: the page or fragment closed.</summary>
    public string Finish() => html + (fragment ? "</div>" : "</body></html>\n");

    string Attribute(Shade shade, string extraStyle = "") =>
        shade == Shade.None ? "" : fragment ? $" style=\"{Shades[shade].Style}{extraStyle}\"" : $" class=\"{Shades[shade].Class}\"";
}
