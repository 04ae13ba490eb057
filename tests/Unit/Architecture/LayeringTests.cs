using System.Text.RegularExpressions;
using Repro.Cli;
using Repro.Data;

namespace Repro.Tests.Unit.Architecture;

/// <summary>
/// The rules between the layers (docs/ARCHITECTURE.md). The library (src/Repro) names its settings, never a
/// command-line flag: flags belong to the command (src/Repro.Cli), which maps the library's setting names back
/// to them (<see cref="SettingFlags"/>). The algorithms never reach into the application room
/// (<c>Repro.Application</c>: folders, staging, PNG/TSV/Parquet output), which builds on them.
/// </summary>
public class LayeringTests
{
    static readonly string Library = Path.Combine(ReproPaths.RepositoryRoot(), "src", "Repro");

    /// <summary>
    /// Files still allowed to name a flag, each with the reason; every one must still do so (a file that no longer
    /// does leaves this list, so the list can only shrink).
    /// </summary>
    static readonly Dictionary<string, string> StillNamingFlags = new(StringComparer.Ordinal)
    {
        [Path.Combine("Data", "Assets", "AssetStore.cs")] = "a missing asset's fix spells out the 'repro fetch ... --data DIR' command to run",
        [Path.Combine("Experiments", "RetrainingReproducesTheCommittedWeights.cs")] = "its NOT RUN fix spells out the 'repro run ... --scale full' command to run",
    };

    /// <summary>String literals (regular, verbatim, interpolated) of a C# source, comment lines left out.</summary>
    static IEnumerable<string> Literals(string source) =>
        source.Split('\n').Where(line => !line.TrimStart().StartsWith("//", StringComparison.Ordinal))
            .SelectMany(line => Regex.Matches(line, @"""(?:[^""\\]|\\.)*""").Select(m => m.Value));

    static readonly Regex Flag = new(@"(?<![\w-])--[a-z][a-z0-9-]*", RegexOptions.Compiled);

    /// <summary>Each library source file and the flags its string literals name.</summary>
    static Dictionary<string, List<string>> FlagsNamed() =>
        Directory.EnumerateFiles(Library, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Library, f))
            .Where(f => !f.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal) && !f.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Select(f => (File: f, Flags: Literals(File.ReadAllText(Path.Combine(Library, f))).SelectMany(l => Flag.Matches(l).Select(m => m.Value)).Distinct().ToList()))
            .Where(x => x.Flags.Count > 0)
            .ToDictionary(x => x.File, x => x.Flags);

    [Test]
    public void TheScanFindsAFlagInALiteralButNotInCodeOrComments()
    {
        string source = "/// <c>--out</c> in a doc comment\n// --out in a comment\nif (--pending[x] == 0) n--;\nthrow new E($\"{nameof(folder)} {folder} is not empty: pass --overwrite\");\n";
        var found = Literals(source).SelectMany(l => Flag.Matches(l).Select(m => m.Value)).ToList();
        Assert.That(found, Is.EqualTo(new[] { "--overwrite" }));
    }

    [Test]
    public void NoStringInTheLibraryNamesACommandLineFlag()
    {
        var named = FlagsNamed();
        Assert.That(named.Count, Is.GreaterThan(0), "the scan reads the library's sources");
        var offenders = named.Where(x => !StillNamingFlags.ContainsKey(x.Key)).Select(x => $"{x.Key}: {string.Join(", ", x.Value)}").ToList();
        Assert.That(offenders, Is.Empty, "the library names its settings (a parameter or a settings property); the command maps them to flags (SettingFlags)");
        var cleaned = StillNamingFlags.Keys.Where(f => !named.ContainsKey(f)).ToList();
        Assert.That(cleaned, Is.Empty, "these no longer name a flag: take them off the list");
    }

    [Test]
    public void TheCommandMapsTheLibrarysSettingNamesToItsFlags()
    {
        var flags = new Dictionary<string, string> { ["outputFolder"] = "--out", ["imageFolder"] = "--images", ["output"] = "--out", ["settings.Overwrite"] = "--overwrite" };
        var e = SettingFlags.Rename(new ReproArgumentException("outputFolder", "/x is the imageFolder folder: pass settings.Overwrite"), flags);
        Assert.That(e.Message, Is.EqualTo("--out: /x is the --images folder: pass --overwrite"));
        Assert.That(SettingFlags.Rename(new ReproInputException("outputFolder /home/u/imageFolder/out holds no output"), flags).Message,
            Is.EqualTo("--out /home/u/imageFolder/out holds no output"), "a path is left alone, and so is a plain word such as output");
        Assert.That(SettingFlags.Rename("input size 224x224 (the file does not say; options.InputSize); from options.Mean and options.Std", ModelOptions.Flags),
            Is.EqualTo("input size 224x224 (the file does not say; --input-size); from --mean and --std"));
        var same = new ReproInputException("nothing to rename");
        Assert.That(SettingFlags.Rename(same, flags), Is.SameAs(same));
    }

    /// <summary>The core's rooms: algorithms, models and what they need to run; the application builds on them, never the other way.</summary>
    static readonly string[] CoreRooms = ["Attacks", "Explain", "Models", "Runtime", "Data", "Training", "Experiments"];

    static readonly Regex ApplicationReference = new(@"\bRepro\.Application\b|(?<![\w.])Application\.Jobs\b", RegexOptions.Compiled);

    [Test]
    public void TheCoreDoesNotReferenceTheApplicationRoom()
    {
        Assert.That(ApplicationReference.IsMatch("using Repro.Application;\n"), Is.True);
        Assert.That(ApplicationReference.IsMatch("/// <see cref=\"Application.Jobs.RobustnessJob\"/>"), Is.True);
        Assert.That(ApplicationReference.IsMatch("// the application room builds on this"), Is.False);
        var files = CoreRooms.SelectMany(room => Directory.EnumerateFiles(Path.Combine(Library, room), "*.cs", SearchOption.AllDirectories)).ToList();
        Assert.That(files.Count, Is.GreaterThan(100), "the scan reads the core's sources");
        Assert.That(Directory.EnumerateFiles(Path.Combine(Library, "Application"), "*.cs", SearchOption.AllDirectories)
            .Count(f => File.ReadAllText(f).Contains("namespace Repro.Application", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(9), "the room the scan looks for");
        var offenders = files.Where(f => ApplicationReference.IsMatch(File.ReadAllText(f))).Select(f => Path.GetRelativePath(Library, f)).ToList();
        Assert.That(offenders, Is.Empty, "the core's rooms do not reference Repro.Application");
    }
}
