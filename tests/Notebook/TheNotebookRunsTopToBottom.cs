using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Events;
using Repro.Data;
using Repro.Experiments;
using Jupyter = Microsoft.DotNet.Interactive.Documents.Jupyter.Notebook;

namespace Repro.Tests.Notebook;

/// <summary>
/// Executes <c>notebooks/adversarial-examples.ipynb</c> top to bottom through the .NET Interactive C#
/// kernel (the kernel Polyglot Notebooks and Jupyter's .NET Interactive run), hosted in this process:
/// every code cell is submitted in order, any cell error fails the test, and the executed copy with
/// all outputs (figures as PNG) is written to <c>TestResults/notebook/adversarial-examples.ipynb</c>.
///
/// The one difference from a user's run: the notebook's first code cell loads the library with
/// <c>#r ".../Repro.dll"</c> from the repository's build output; here that line is replaced by the
/// same directive naming the Repro.dll this test was built with (so the run tests this commit's library,
/// with the Debian 12 native-library fix of its build output). Data and weights come from REPRO_DATA
/// and REPRO_MODELS; nothing is downloaded (test.runsettings sets REPRO_OFFLINE=1), so a section whose
/// inputs are absent prints NOT RUN with how to get them, as the notebook does for a user.
/// </summary>
[TestFixture]
public class TheNotebookRunsTopToBottom
{
    static readonly Regex ReproReference = new("^#r \"[^\"]*Repro\\.dll\"\\s*$", RegexOptions.Multiline);

    static string NotebookPath => Path.Combine(ReproPaths.RepositoryRoot(), "notebooks", "adversarial-examples.ipynb");

    static InteractiveDocument Read(string path)
    {
        var kernels = new KernelInfoCollection { new Microsoft.DotNet.Interactive.Documents.KernelInfo("csharp") };
        kernels.DefaultKernelName = "csharp";
        return Jupyter.Parse(File.ReadAllText(path), kernels);
    }

    static IEnumerable<InteractiveDocumentElement> CodeCells(InteractiveDocument document) =>
        document.Elements.Where(e => e.KernelName is "csharp" or "C#");

    [Test]
    public void IsCommittedWithItsOutputsCleared()
    {
        var document = Read(NotebookPath);
        var withOutputs = document.Elements.Select((e, i) => (e, i)).Where(x => x.e.Outputs.Count > 0).Select(x => x.i).ToList();
        Assert.That(withOutputs, Is.Empty, $"cells with outputs in the committed {NotebookPath} (clear them before committing)");
        Assert.That(CodeCells(document).Count(), Is.GreaterThan(5), "the notebook's code cells (C#)");
    }

    [Test]
    public void UsesThePublicApiOnly()
    {
        string text = File.ReadAllText(NotebookPath);
        foreach (string word in new[] { "System.Reflection", "BindingFlags", "GetMethod(", "GetField(", "GetProperty(", "InternalsVisibleTo", "UnsafeAccessor" })
            Assert.That(text, Does.Not.Contain(word), "the notebook reaches the library through its public API only");
    }

    [Test]
    public async Task EveryCellRunsAndEverySectionShowsItsFiguresOrSaysNotRun()
    {
        var document = Read(NotebookPath);
        var cells = CodeCells(document).ToList();
        string reproDll = typeof(Article).Assembly.Location;
        Assert.That(ReproReference.IsMatch(cells[0].Contents), Is.True,
            $"the first code cell of {NotebookPath} loads the library with a line #r \"<path>/Repro.dll\" (the test replaces that path)");
        string firstCell = cells[0].Contents;
        cells[0].Contents = ReproReference.Replace(firstCell, $"#r \"{reproDll}\"");

        string folder = Path.Combine(ReproPaths.RepositoryRoot(), "TestResults", "notebook");
        Directory.CreateDirectory(folder);
        string executed = Path.Combine(folder, "adversarial-examples.ipynb");
        string previousDirectory = Environment.CurrentDirectory;
        // The notebook writes its figures relative to the working folder, as it does beside the notebook for a user.
        Environment.CurrentDirectory = folder;
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        try
        {
            using var kernel = new CompositeKernel { new CSharpKernel().UseKernelHelpers() };
            kernel.DefaultKernelName = "csharp";
            for (int i = 0; i < cells.Count; i++)
            {
                var cell = cells[i];
                var started = clock.Elapsed;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var result = await kernel.SendAsync(new SubmitCode(cell.Contents));
                foreach (var e in result.Events)
                {
                    switch (e)
                    {
                        case StandardOutputValueProduced o: Append(cell, Text(o), "stdout"); break;
                        case StandardErrorValueProduced o: Append(cell, Text(o), "stderr"); break;
                        case ErrorProduced p:
                            cell.Outputs.Add(new ErrorElement(p.Message, "Error", []));
                            failures.Add($"code cell {i + 1}: {p.Message}");
                            break;
                        case DisplayEvent o: cell.Outputs.Add(new DisplayElement(Data(o))); break;
                        case CommandFailed f:
                            var lines = f.Message.Split('\n');
                            cell.Outputs.Add(new ErrorElement(lines[0], f.Exception?.GetType().Name ?? "Error", lines.Skip(1).ToArray()));
                            failures.Add($"code cell {i + 1} failed: {lines[0]}");
                            break;
                    }
                }
                int images = cell.Outputs.OfType<DisplayElement>().Count(d => d.Data.ContainsKey("image/png"));
                TestContext.Progress.WriteLine($"cell {i + 1}/{cells.Count}: {(clock.Elapsed - started).TotalSeconds:F1} s ({(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F0} s CPU), {images} figure(s){(result.Events.OfType<CommandFailed>().Any() ? ", FAILED" : "")}");
                if (failures.Count > 0) break;
            }
        }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
            cells[0].Contents = firstCell; // the executed copy shows the cell as a user has it
            File.WriteAllText(executed, Jupyter.ToJupyterJson(document));
            TestContext.Out.WriteLine($"executed copy with outputs: {executed} ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        Assert.That(failures, Is.Empty, $"the notebook ran top to bottom without an error (executed copy: {executed})");

        // Each section that runs the article's experiments shows its figures, or says NOT RUN and why.
        Assert.Multiple(() =>
        {
            foreach (var (cell, i) in cells.Select((c, i) => (c, i)).Where(x => x.c.Contents.Contains("Article.Run(", StringComparison.Ordinal)))
            {
                bool figure = cell.Outputs.OfType<DisplayElement>().Any(d => d.Data.ContainsKey("image/png"));
                bool notRun = cell.Outputs.Any(o => OutputText(o).Contains("NOT RUN", StringComparison.Ordinal));
                Assert.That(figure || notRun, Is.True, $"code cell {i + 1} ({cell.Contents.Split('\n')[0]}) shows a figure or says NOT RUN");
            }
        });
    }

    /// <summary>Adds console text to the cell's outputs, joined to the previous output of the same stream (one block, as Jupyter shows it).</summary>
    static void Append(InteractiveDocumentElement cell, string text, string stream)
    {
        if (cell.Outputs.Count > 0 && cell.Outputs[^1] is TextElement last && last.Name == stream)
            cell.Outputs[^1] = new TextElement(last.Text + text, stream);
        else
            cell.Outputs.Add(new TextElement(text, stream));
    }

    static string Text(DisplayEvent e) => e.FormattedValues.FirstOrDefault(v => v.MimeType == "text/plain")?.Value ?? "";

    static Dictionary<string, object> Data(DisplayEvent e) => e.FormattedValues.ToDictionary(v => v.MimeType, v => (object)v.Value);

    static string OutputText(InteractiveDocumentOutputElement output) => output switch
    {
        TextElement t => t.Text,
        DisplayElement d => string.Join("\n", d.Data.Values.OfType<string>()),
        _ => "",
    };
}
