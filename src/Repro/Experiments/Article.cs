using Repro.Data;
using Repro.Data.Assets;
using Repro.Report;
using Repro.Runtime;

namespace Repro.Experiments;

/// <summary>Whether a claim held where it ran: every check met its threshold, one did not, or it could not run.</summary>
public enum ClaimVerdict
{
    /// <summary>Every check met its threshold.</summary>
    Pass,
    /// <summary>At least one check missed its threshold (or the claim measured nothing).</summary>
    Fail,
    /// <summary>Data or weights were absent: <see cref="ClaimResult.NotRunReason"/> says which, <see cref="ClaimResult.NotRunFix"/> how to get them.</summary>
    NotRun,
}

/// <summary>
/// One measured figure of a claim beside what the article says about it and the threshold the claim
/// test judges it by (the same threshold, written once beside the claim in <c>src/Repro/Experiments</c>).
/// </summary>
/// <param name="Quantity">What was measured, in words (e.g. "targeted success rate").</param>
/// <param name="Measured">The measured value, in <paramref name="Unit"/> (a fraction in [0,1] where the unit is "%"); NaN fails.</param>
/// <param name="Comparison">"&gt;=" or "&lt;=": how <paramref name="Measured"/> must compare with <paramref name="Bound"/>.</param>
/// <param name="Bound">The threshold, in the same unit as <paramref name="Measured"/>.</param>
/// <param name="Unit">"%" (values are fractions, printed as percentages), "" (a plain number) or a unit name.</param>
/// <param name="ArticleSays">The article's figure or sentence for this quantity.</param>
/// <param name="Holds">True when <paramref name="Measured"/> meets the threshold.</param>
public sealed record ClaimCheck(string Quantity, double Measured, string Comparison, double Bound, string Unit, string ArticleSays, bool Holds)
{
    /// <summary>The measured value as the report prints it (e.g. "100.0%").</summary>
    public string MeasuredText => Threshold.Format(Measured, Unit);

    /// <summary>The threshold as the report prints it (e.g. "&gt;= 90.0%").</summary>
    public string ThresholdText => $"{Comparison} {Threshold.Format(Bound, Unit)}";

    /// <summary>One line: verdict, quantity, measured value, threshold and the article's figure (as the claim tests print it).</summary>
    public override string ToString() => $"{(Holds ? "PASS" : "FAIL")}  {Quantity}: measured {MeasuredText} (need {ThresholdText}; article: {ArticleSays})";

    internal static ClaimCheck From(Check c) =>
        new(c.Threshold.Quantity, c.Measured, c.Threshold.Comparison, c.Threshold.Bound, c.Threshold.Unit, c.ArticleSays, c.Holds);
}

/// <summary>
/// What one claim's experiment found when run through <see cref="Article.Run"/>: the same outcome the
/// claim tests assert and <c>repro run</c> reports, with the figures as full paths of PNG files.
/// </summary>
public sealed record ClaimResult
{
    /// <summary>The claim's identifier, as in claims.json and the report.</summary>
    public required string Id { get; init; }
    /// <summary>The claim in one line.</summary>
    public required string Title { get; init; }
    /// <summary>The article's sentence this claim tests.</summary>
    public required string ArticleSays { get; init; }
    /// <summary>Pass, fail or not run (see <see cref="ClaimVerdict"/>).</summary>
    public required ClaimVerdict Verdict { get; init; }
    /// <summary>Each measured figure against its threshold; empty for a claim that did not run.</summary>
    public IReadOnlyList<ClaimCheck> Checks { get; init; } = [];
    /// <summary>Measured figures reported without a threshold (tables, sweeps), one line each.</summary>
    public IReadOnlyList<string> Measurements { get; init; } = [];
    /// <summary>Where the data says something the article does not, in plain words.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>Full paths of the PNG figures the experiment wrote (in <see cref="ArticleRunSettings.OutputFolder"/>).</summary>
    public IReadOnlyList<string> Figures { get; init; } = [];
    /// <summary>For a claim that could not run: which data or weights were absent; else null.</summary>
    public string? NotRunReason { get; init; }
    /// <summary>For a claim that could not run: the command or file placement that makes its inputs present; else null.</summary>
    public string? NotRunFix { get; init; }
    /// <summary>Wall-clock time the experiment took.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The plain-text description the claim tests and <c>repro run</c> print (verdict, article, checks, notes, figures).</summary>
    public string Description { get; init; } = "";

    /// <summary>
    /// A self-contained HTML fragment (no scripts, no external files): the title and verdict, the
    /// article's sentence, a table of each measured figure beside the article's and the threshold, the
    /// unthresholded measurements, the notes and, for a claim that did not run, why and how to get its inputs.
    /// Figures are not included (show <see cref="Figures"/> as images).
    /// </summary>
    public string ToHtml()
    {
        static string T(string s) => HtmlWriter.Text(s);
        var html = HtmlWriter.Fragment();
        var (word, shade) = Verdict switch { ClaimVerdict.Pass => ("PASS", Shade.Pass), ClaimVerdict.Fail => ("FAIL", Shade.Fail), _ => ("NOT RUN", Shade.NotRun) };
        html.Paragraph($"{HtmlWriter.Bold(Title)} — {html.Shaded(word, shade)} ({Elapsed.TotalSeconds:F0} s)")
            .Paragraph($"<i>Article:</i> {T(ArticleSays)}");
        if (NotRunReason != null)
            html.Paragraph($"<b>NOT RUN:</b> {T(NotRunReason)}{(NotRunFix != null ? $"<br><b>To run it:</b> {T(NotRunFix)}" : "")}", Shade.NotRun);
        if (Checks.Count > 0)
            html.Table(["quantity", "measured", "article", "threshold", "verdict"],
                Checks.Select(c => new HtmlRow([T(c.Quantity), HtmlWriter.Bold(c.MeasuredText), T(c.ArticleSays), T(c.ThresholdText), c.Holds ? "PASS" : "FAIL"])));
        if (Measurements.Count > 0) html.Preformatted(string.Join("\n", Measurements));
        foreach (var n in Notes) html.Paragraph($"<b>Where the data differs from the article:</b> {T(n)}", Shade.Note);
        return html.Finish();
    }

    internal static ClaimResult From(ClaimOutcome o, string outputFolder) => new()
    {
        Id = o.Id,
        Title = o.Title,
        ArticleSays = o.ArticleSays,
        Verdict = o.Verdict switch { Experiments.Verdict.Pass => ClaimVerdict.Pass, Experiments.Verdict.Fail => ClaimVerdict.Fail, _ => ClaimVerdict.NotRun },
        Checks = o.Checks.Select(ClaimCheck.From).ToList(),
        Measurements = o.Measurements,
        Notes = o.Notes,
        Figures = o.Figures.Select(f => Path.Combine(outputFolder, f)).Where(File.Exists).ToList(),
        NotRunReason = o.NotRunReason,
        NotRunFix = o.NotRunFix,
        Elapsed = o.Elapsed,
        Description = o.Describe(),
    };
}

/// <summary>One section of the article: the experiments <c>repro run NAME</c> runs, and what they test.</summary>
/// <param name="Name">The name <see cref="Article.Run"/> and <c>repro run</c> take (e.g. "claim-1-goldfish").</param>
/// <param name="Description">The claim it tests, in one line (starts with "claim N:").</param>
public sealed record ArticleSection(string Name, string Description);

/// <summary>
/// How <see cref="Article.Run"/> runs: where data, weights and figures are, the seed, the device and
/// the scale. Every setting left null takes the value <c>repro run</c> would (environment variables, then defaults).
/// </summary>
public sealed record ArticleRunSettings
{
    /// <summary>Folder the figures are written to (created if absent; files of the same names are replaced). Default "article-figures".</summary>
    public string OutputFolder { get; init; } = "article-figures";
    /// <summary>Data root; null: <c>REPRO_DATA</c>, else the per-user cache (see <see cref="ReproPaths.Resolve"/>).</summary>
    public string? DataRoot { get; init; }
    /// <summary>Model (weights) root; null: <c>REPRO_MODELS</c>, else the per-user cache.</summary>
    public string? ModelRoot { get; init; }
    /// <summary>The seed every experiment is given (default 0, as the claim tests).</summary>
    public long Seed { get; init; }
    /// <summary>"cpu", "cuda" or "cuda:N"; null: <c>REPRO_DEVICE</c>, else the CPU. A device asked for and absent is refused.</summary>
    public string? Device { get; init; }
    /// <summary>"quick" or "full" (how many images; thresholds never change); null: <c>REPRO_SCALE</c>, else quick on the CPU and full on a GPU.</summary>
    public string? Scale { get; init; }
    /// <summary>
    /// True: never download; missing data or weights make a claim NOT RUN with how to get them.
    /// False: fetch missing ones first, as <c>repro run</c> does. Null: <c>REPRO_OFFLINE</c> (1, true or yes: offline), else fetch.
    /// </summary>
    public bool? Offline { get; init; }
    /// <summary>Receives progress lines and each claim's description; null: nothing is written.</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>
/// The article's experiments for programs and notebooks (<c>notebooks/adversarial-examples.ipynb</c>):
/// the same catalogue, thresholds and NOT RUN handling as <c>repro run</c> and the claim tests, on the
/// public API. A claim whose data or weights are absent comes back <see cref="ClaimVerdict.NotRun"/>
/// with the reason and the fix, never an exception.
/// </summary>
public static class Article
{
    static readonly object gate = new();

    /// <summary>The notebook that walks through the article on this API, as a path in the repository; each section's anchor is its <see cref="ArticleSection.Name"/>.</summary>
    public const string NotebookPath = "notebooks/adversarial-examples.ipynb";

    static readonly Lazy<IReadOnlyDictionary<string, string>> sectionOfClaim = new(() =>
        ExperimentCatalog.All.SelectMany(s => s.Create().Select(e => (e.Id, s.Name)))
            .GroupBy(x => x.Id).ToDictionary(g => g.Key, g => g.First().Name));

    /// <summary>
    /// The section (a <see cref="Sections"/> name, also the notebook's anchor) whose run includes the claim
    /// with id <paramref name="claimId"/>, or null for a claim no section runs (e.g. retraining the weights).
    /// </summary>
    public static string? SectionOf(string claimId) => sectionOfClaim.Value.GetValueOrDefault(claimId);

    /// <summary>The article's sections in catalogue order (the names <c>repro run</c> takes).</summary>
    public static IReadOnlyList<ArticleSection> Sections { get; } =
        ExperimentCatalog.All.Select(e => new ArticleSection(e.Name, e.Description)).ToList();

    /// <summary>
    /// Runs every experiment of one section (e.g. "claim-1-goldfish": claim 1 on each ImageNet model of the
    /// registry) and returns each claim's result in order. The start-up repairs of <c>repro</c> (oneDNN
    /// configuration, malloc settings) are applied first; TF32 is off, as in the claim tests.
    /// </summary>
    /// <param name="section">A name from <see cref="Sections"/>, or "all".</param>
    /// <param name="settings">Where and how to run; null: every default (see <see cref="ArticleRunSettings"/>).</param>
    /// <exception cref="ReproInputException">An unknown section, an empty output folder, a device or scale that is not valid (the setting is named), or a device that is absent.</exception>
    /// <exception cref="ReproEnvironmentException">The output folder cannot be created or written.</exception>
    public static IReadOnlyList<ClaimResult> Run(string section, ArticleRunSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        settings ??= new ArticleRunSettings();
        var experiments = ExperimentCatalog.Create(section);
        if (string.IsNullOrWhiteSpace(settings.OutputFolder))
            throw new ReproInputException($"{nameof(ArticleRunSettings)}.{nameof(ArticleRunSettings.OutputFolder)} must name a folder");
        StartUp();
        var device = settings.Device is null ? ComputeDevice.FromEnvironment()
            : ComputeDevice.Parse(settings.Device, $"{nameof(ArticleRunSettings)}.{nameof(ArticleRunSettings.Device)}");
        var scale = settings.Scale is null ? Scales.Resolve(null, device)
            : Scales.Parse(settings.Scale, $"{nameof(ArticleRunSettings)}.{nameof(ArticleRunSettings.Scale)}");
        var paths = ReproPaths.Resolve(settings.DataRoot, settings.ModelRoot);
        string output = Path.GetFullPath(settings.OutputFolder);
        try { Directory.CreateDirectory(output); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReproEnvironmentException($"output folder not writable: {output} ({e.Message})", e);
        }
        return WithAssets(settings, (log, offline) =>
        {
            ComputeDevice.AllowTf32(false);
            var context = new ExperimentContext(paths, output, settings.Seed, log) { Device = device, Scale = scale };
            log.WriteLine($"device {ComputeDevice.Name(device)}, scale {Scales.Name(scale)}, TF32 off, {(offline ? "offline" : "fetching missing data and weights")}");
            var results = new List<ClaimResult>();
            foreach (var experiment in experiments)
            {
                log.WriteLine($"== {experiment.Title}");
                var outcome = ExperimentRunner.Run(experiment, context);
                log.WriteLine(outcome.Describe());
                results.Add(ClaimResult.From(outcome, output));
            }
            return (IReadOnlyList<ClaimResult>)results;
        });
    }

    /// <summary>
    /// <paramref name="count"/> ImageNet validation images spread evenly over the validation images
    /// under the data root (in sorted path order), with the torchvision evaluation transform (shorter
    /// side 256, centre crop 224): [N,3,224,224] in [0,1], labelled with the 1,000 standard class names.
    /// Fetched first where absent unless offline (<see cref="ArticleRunSettings.Offline"/>).
    /// </summary>
    /// <param name="count">How many images, 1 to 64 (fewer when fewer are present).</param>
    /// <param name="settings">Where the data is; null: the defaults.</param>
    /// <exception cref="MissingInputsException">No validation images, and they could not be fetched (the exception says how to get them).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> outside 1..64.</exception>
    public static LabelledImages ImageNetImages(int count = 8, ArticleRunSettings? settings = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 64);
        settings ??= new ArticleRunSettings();
        StartUp();
        var paths = ReproPaths.Resolve(settings.DataRoot, settings.ModelRoot);
        return WithAssets(settings, (_, _) =>
        {
            var validation = ImageNetValidation.Open(paths.DataRoot);
            int n = Math.Min(count, validation.Samples.Count);
            var picked = Enumerable.Range(0, n).Select(i => validation.Samples[(int)((long)i * validation.Samples.Count / n)]).ToList();
            return ImageNetValidation.Load(picked, validation.Classes.Names);
        });
    }

    /// <summary>
    /// The CIFAR-10 cat and airplane images of one split (label 0 = cat, 1 = airplane), the data of
    /// claims 2, 4, 5 and 6: [N,3,32,32] in [0,1]. Fetched first where absent unless offline.
    /// </summary>
    /// <param name="split">Train (10,000 images) or test (2,000).</param>
    /// <param name="settings">Where the data is; null: the defaults.</param>
    /// <exception cref="MissingInputsException">CIFAR-10 is absent and could not be fetched (the exception says how to get it).</exception>
    public static LabelledImages CifarCatsAndAirplanes(Split split, ArticleRunSettings? settings = null)
    {
        settings ??= new ArticleRunSettings();
        StartUp();
        var paths = ReproPaths.Resolve(settings.DataRoot, settings.ModelRoot);
        return WithAssets(settings, (_, _) => Cifar10.Load(paths.DataRoot, split, Cifar10.CatVsAirplane));
    }

    /// <summary>
    /// What <c>repro</c> does before libtorch's first operation: the malloc settings and the oneDNN
    /// configuration (<see cref="OneDnnConfiguration"/>). Every method of this class calls it; a notebook
    /// calls it in its first cell, before any tensor is made, and prints the returned line. Later calls do nothing.
    /// </summary>
    /// <returns>The oneDNN configuration in one line (<see cref="OneDnnConfiguration.Summary"/>).</returns>
    /// <exception cref="ReproInputException"><c>REPRO_ONEDNN</c> has an unknown value (the variable is named).</exception>
    public static string StartUp()
    {
        GlibcMallocTuning.Apply();
        OneDnnConfiguration.Apply();
        return OneDnnConfiguration.Summary;
    }

    /// <summary>Runs <paramref name="body"/> with the asset store set as <paramref name="settings"/> ask (fetch or offline), restored after.</summary>
    static T WithAssets<T>(ArticleRunSettings settings, Func<TextWriter, bool, T> body)
    {
        var log = settings.Log ?? TextWriter.Null;
        bool offline = settings.Offline ?? AssetFetchOptions.OfflineFromEnvironment();
        lock (gate)
        {
            // The asset store's fetch settings are process-wide: set for this call, restored after it.
            var (wasOffline, wasOnDemand, wasLog) = (AssetStore.Offline, AssetStore.OnDemand, AssetStore.Log);
            using var fetcher = offline ? null : new AssetFetcher(AssetFetchOptions.FromEnvironment(), log);
            try
            {
                AssetStore.Offline = offline;
                AssetStore.OnDemand = fetcher;
                AssetStore.Log = log;
                AssetStore.ForgetFailures();
                return body(log, offline);
            }
            finally
            {
                (AssetStore.Offline, AssetStore.OnDemand, AssetStore.Log) = (wasOffline, wasOnDemand, wasLog);
            }
        }
    }

    /// <summary>
    /// A PNG (file bytes) of <paramref name="count"/> images of <paramref name="set"/> in a row, spread
    /// evenly over the set (image i * N / count), each captioned with its label's name: for looking at
    /// the data before the experiments.
    /// </summary>
    /// <param name="set">Images [N,3,H,W] in [0,1] and their labels.</param>
    /// <param name="count">How many images, 1 or more (fewer when the set is smaller).</param>
    /// <param name="title">A title above the row, or null.</param>
    /// <param name="cellSize">Width and height of each shown image, in pixels (16 to 1024); small images are enlarged with their pixels kept visible.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> below 1, or <paramref name="cellSize"/> outside 16..1024.</exception>
    /// <exception cref="ArgumentException"><paramref name="set"/> is empty.</exception>
    public static byte[] LabelledImagesPng(LabelledImages set, int count = 8, string? title = null, int cellSize = 96)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cellSize, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cellSize, 1024);
        if (set.Count == 0) throw new ArgumentException("the set has no images", nameof(set));
        using var scope = TorchSharp.torch.NewDisposeScope();
        int n = (int)Math.Min(count, set.Count);
        var picked = Enumerable.Range(0, n).Select(i => i * set.Count / n).ToList();
        var labels = set.Labels.to(TorchSharp.torch.CPU).data<long>().ToArray();
        var cells = picked.Select(i => new GridCell(set.Images[i].to(TorchSharp.torch.CPU), set.ClassNames[(int)labels[i]])).ToList();
        using var bitmap = ImageGrid.Render([new GridRow(null, cells)], title, cellSize);
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
