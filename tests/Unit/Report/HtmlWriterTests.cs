using Repro.Report;

namespace Repro.Tests.Unit.Report;

public class HtmlWriterTests
{
    const string Hostile = "<script>alert('x')</script> & \"quoted\"";

    static HtmlWriter Fill(HtmlWriter html) => html
        .Heading(2, HtmlWriter.Text(Hostile), id: Hostile)
        .Paragraph(HtmlWriter.Link("#" + Hostile, HtmlWriter.Code(Hostile)), Shade.Note)
        .Table([Hostile, "b"], [new HtmlRow([HtmlWriter.Text(Hostile), new HtmlCell("ok", Shade.Pass)], Shade.Fail)])
        .Preformatted(Hostile)
        .Figure(Hostile, [0x89, 0x50, 0x4e, 0x47]);

    [Test]
    public void EveryTextIsEscapedWhereverItGoes()
    {
        string page = Fill(HtmlWriter.Page(Hostile)).Finish();
        Assert.That(page, Does.Not.Contain("<script").And.Not.Contain("'x'").And.Not.Contain("\"quoted\""));
        Assert.That(page, Does.Contain("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"));
        Assert.That(page, Does.StartWith("<!DOCTYPE html>").And.EndWith("</body></html>\n"));
        Assert.That(page, Does.Contain("data:image/png;base64,iVBORw=="), "figures are embedded");
    }

    [Test]
    public void APageShadesByItsStylesheetAndAFragmentInline()
    {
        string page = Fill(HtmlWriter.Page("t")).Finish(), fragment = Fill(HtmlWriter.Fragment()).Finish();
        foreach (string shade in new[] { "pass", "fail", "note" })
            Assert.That(page, Does.Contain($".{shade}{{").And.Contain($"class=\"{shade}\""), $"the page's stylesheet defines and uses .{shade}");
        Assert.That(fragment, Does.StartWith("<div>").And.EndWith("</div>"));
        Assert.That(fragment, Does.Not.Contain("<style").And.Not.Contain("class=").And.Not.Contain("<body"), "a fragment brings no stylesheet of its own");
        Assert.That(fragment, Does.Contain("style=\"background:#d9f2d9\"").And.Contain("style=\"background:#f8d0d0\""), "the same colours, inline");
    }
}
