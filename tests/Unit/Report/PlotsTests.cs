using Repro.Data;
using Repro.Report;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Report;

public class PlotsTests
{
    // The shape of claim 2's sweep: three series, eps doubling on a log axis, one dashed.
    static readonly PlotSeries[] Sweep =
    [
        new("fooled (of correctly classified training images)", [(0.125, 0.31), (0.25, 0.62), (0.5, 0.93), (1.0, 1.0)]),
        new("relabelled model: true test accuracy", [(0.125, 0.52), (0.25, 0.61), (0.5, 0.74), (1.0, 0.81)]),
        new("chance", [(0.125, 0.5), (0.25, 0.5), (0.5, 0.5), (1.0, 0.5)], Dashed: true),
    ];

    [Test]
    public void ASweepIsWrittenAsPngWithEverySeriesColourAndVisibleText()
    {
        using var _ = NewDisposeScope();
        string path = Path.Combine(TestData.TempFolder(), "sweep.png");

        Plots.SaveLines(path, "A sweep", "attack eps (L2)", "fraction", Sweep, logX: true);

        using var png = ImageFile.Load(path);
        Assert.That(png.shape, Is.EqualTo(new long[] { 3, 480 + 20 * Sweep.Length, 720 }));
        for (int s = 0; s < Sweep.Length; s++)
        {
            var colour = Plots.Colour(s);
            var target = tensor(new[] { colour.R / 255f, colour.G / 255f, colour.B / 255f }).reshape(3, 1, 1);
            long hits = (png - target).abs().amax(0).lt(0.02f).sum().item<long>();
            Assert.That(hits, Is.GreaterThan(100), $"series {s} ({Sweep[s].Name}) is drawn in its palette colour");
        }
        // Title, tick labels and legend: dark glyph pixels on white, a small share of the image.
        double dark = png.amax(0).lt(0.3).to_type(ScalarType.Float32).mean().item<float>();
        Assert.That(dark, Is.GreaterThan(0.002).And.LessThan(0.2), "text and axes are drawn in ink on white");
        TestContext.Out.WriteLine($"plot written to {path}");
    }

    [Test]
    public void ALogAxisRefusesNonPositiveXAndEverySeriesNeedsAPoint()
    {
        Assert.Throws<ArgumentException>(() => Plots.Lines("t", "x", "y", [new("zero", [(0.0, 0.5), (1.0, 0.5)])], logX: true));
        Assert.Throws<ArgumentException>(() => Plots.Lines("t", "x", "y", [new("empty", [])]));
        Assert.Throws<ArgumentException>(() => Plots.Lines("t", "x", "y", []));
    }
}
