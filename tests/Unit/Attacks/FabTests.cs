using Repro.Attacks;
using Repro.Tests.Unit.Support;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// FAB (Croce and Hein 2020) against the exact answer: on an affine classifier z = W(x − ½) the
/// linearisation is exact, and the smallest perturbation that changes the prediction is, over the
/// other classes k, min |z_k − z_y| / ‖w_k − w_y‖_q (q the dual norm: 2 for L2, 1 for L-inf) when the
/// box does not bind (here the images are within 0.1 of ½ and every answer is below 0.3).
/// </summary>
public class FabTests
{
    const int Classes = 5;
    const long Pixels = 64;

    sealed class Affine : Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Parameter weight;
        public Tensor W => weight;

        public Affine() : base("Affine")
        {
            using var g = new Generator(11);
            weight = Parameter(randn(new long[] { Classes, Pixels }, dtype: ScalarType.Float64, generator: g));
            register_parameter("weight", weight);
            eval();
        }

        public override Tensor forward(Tensor images) => (images.flatten(1).to_type(ScalarType.Float64) - 0.5).matmul(weight.t());
    }

    static (Affine Model, Tensor Images, Tensor Labels) Problem(int n = 12)
    {
        var model = new Affine();
        using var g = new Generator(5);
        var images = (0.5 + 0.1 * (2 * rand(new long[] { n, 1, 8, 8 }, dtype: ScalarType.Float64, generator: g) - 1)).to_type(ScalarType.Float32);
        Tensor labels;
        using (no_grad()) labels = model.forward(images).argmax(1);
        return (model, images, labels);
    }

    /// <summary>Per example the distance to the boundary with each other class [N,classes] (+infinity for the label), in the dual norm of <paramref name="l2"/>'s.</summary>
    static Tensor Distances(Affine model, Tensor images, Tensor labels, bool l2)
    {
        using var _ = no_grad();
        var z = model.forward(images);
        var index = labels.unsqueeze(1);
        var dz = z.gather(1, index) - z;                                   // [N,K] ≥ 0
        var dw = model.W.unsqueeze(0) - model.W[labels].unsqueeze(1);      // [N,K,D]
        var dual = l2 ? dw.square().sum(2).sqrt() : dw.abs().sum(2);
        return (dz / dual).scatter(1, index, full_like(dz[.., ..1], double.PositiveInfinity));
    }

    [Test]
    public void OnAnAffineModelFabReachesTheAnalyticMinimumNorm([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        var (model, images, labels) = Problem();
        bool l2 = norm == "L2";
        ThreatModel threat = l2 ? new L2Ball(1.0) : new LinfBall(0.3);
        var exact = Distances(model, images, labels, l2).amin(1);
        Assert.That(exact.max().item<double>(), Is.LessThan(0.3), "the box must not bind for the formula to hold");
        using var result = Fab.Run(model, images, labels, threat, new AttackRun(0), new FabOptions());
        var found = result.MinimumNorm!;
        var ratio = found / exact;
        TestContext.Out.WriteLine($"{norm}: exact {string.Join(", ", exact.data<double>().Select(v => v.ToString("F5")))}");
        TestContext.Out.WriteLine($"{norm}: FAB/exact max {ratio.max().item<double>():F6}, min {ratio.min().item<double>():F6}");
        Assert.That(ratio.min().item<double>(), Is.GreaterThanOrEqualTo(1 - 1e-5), "no perturbation smaller than the exact minimum changes the prediction");
        Assert.That(ratio.max().item<double>(), Is.LessThanOrEqualTo(1.01), "FAB is within 1% of the exact minimum");
        Assert.That(result.Success.all().item<bool>(), Is.True);
        var measured = l2 ? result.L2 : result.Linf;
        Assert.That((measured.to_type(ScalarType.Float64) - found).abs().max().item<double>(), Is.LessThan(1e-5), "the returned image is the minimum-norm one");
    }

    [Test]
    public void FabTTowardEveryOtherClassReachesTheSameMinimumAndOneTargetItsOwnBoundary([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        var (model, images, labels) = Problem();
        bool l2 = norm == "L2";
        ThreatModel threat = l2 ? new L2Ball(1.0) : new LinfBall(0.3);
        var distances = Distances(model, images, labels, l2);
        var exact = distances.amin(1);
        using var all = Fab.RunTargeted(model, images, labels, threat, new AttackRun(0), new FabOptions { TargetClasses = Classes - 1, Exhaustive = true });
        var ratio = all.MinimumNorm! / exact;
        TestContext.Out.WriteLine($"{norm}: FAB-T (all targets)/exact in [{ratio.min().item<double>():F6}, {ratio.max().item<double>():F6}]");
        Assert.That(ratio.min().item<double>(), Is.GreaterThanOrEqualTo(1 - 1e-5));
        Assert.That(ratio.max().item<double>(), Is.LessThanOrEqualTo(1.01));

        // One target: the class with the second highest logit. Its boundary bounds the answer from above, the exact minimum from below.
        Tensor second;
        using (no_grad()) second = model.forward(images).topk(2, 1).indexes[.., 1];
        var own = distances.gather(1, second.unsqueeze(1)).squeeze(1);
        using var one = Fab.RunTargeted(model, images, labels, threat, new AttackRun(0), new FabOptions { TargetClasses = 1 });
        Assert.That((one.MinimumNorm! / exact).min().item<double>(), Is.GreaterThanOrEqualTo(1 - 1e-5));
        Assert.That((one.MinimumNorm! / own).max().item<double>(), Is.LessThanOrEqualTo(1.01));
    }

    [Test]
    public void OnlyPerturbationsWithinEpsCountAndTheCurveComesFromOneRun([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        var (model, images, labels) = Problem();
        bool l2 = norm == "L2";
        var exact = Distances(model, images, labels, l2).amin(1).data<double>().ToArray();
        double median = exact.Order().ElementAt(exact.Length / 2);
        ThreatModel threat = l2 ? new L2Ball(median) : new LinfBall(median);
        using var result = Fab.Run(model, images, labels, threat, new AttackRun(0), new FabOptions { Exhaustive = true });
        var success = result.Success.data<bool>().ToArray();
        var minimum = result.MinimumNorm!.data<double>().ToArray();
        var distance = threat.Distance(images, result.Adversarial).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < exact.Length; i++)
        {
            Assert.That(success[i], Is.EqualTo(minimum[i] <= median), $"example {i}: success iff the smallest perturbation is within eps");
            if (!success[i]) Assert.That(distance[i], Is.EqualTo(0), $"example {i}: not fooled within eps returns the clean image");
            else Assert.That(distance[i], Is.LessThanOrEqualTo(median * (1 + 1e-5)));
        }
        double[] radii = [0, exact.Min() * 0.99, median, exact.Max() * 1.02];
        var curve = Fab.RobustAccuracyCurve(result.MinimumNorm!, radii);
        Assert.That(curve[0], Is.EqualTo(1.0));
        Assert.That(curve[1], Is.EqualTo(1.0));
        Assert.That(curve[2], Is.EqualTo(1 - success.Count(s => s) / (double)success.Length).Within(1e-12));
        Assert.That(curve[3], Is.EqualTo(0.0));
    }

    [Test]
    public void TheProjectionIsTheSmallestStepOntoTheHyperplaneInsideTheBox([Values("L2", "Linf")] string norm)
    {
        using var _ = NewDisposeScope();
        bool l2 = norm == "L2";
        // 3 coordinates at 0.9, 0.5, 0.2; hyperplane x0 + x1 + x2 = 2.2 (needs +0.6 in all): L2 wants +0.2 each but x0 can only take +0.1.
        var t = tensor(new double[] { 0.9, 0.5, 0.2 }).reshape(1, 3);
        var w = tensor(new double[] { 1, 1, 1 }).reshape(1, 3);
        var d = Fab.Project(t, w, tensor(new double[] { 2.2 }), l2).data<double>().ToArray();
        var expected = l2 ? new[] { 0.1, 0.25, 0.25 } : new[] { 0.1, 0.25, 0.25 };
        Assert.That(d, Is.EqualTo(expected).Within(1e-12));
        // Linf with unequal weights: w = (2, 1, −1), need w·d = 1: ρ·(2 + 1 + 1) = 1 → ρ = 0.25, d = (0.25, 0.25, −0.25), unless capped.
        var d2 = Fab.Project(tensor(new double[] { 0.5, 0.5, 0.5 }).reshape(1, 3), tensor(new double[] { 2, 1, -1 }).reshape(1, 3), tensor(new double[] { 2 }), false).data<double>().ToArray();
        Assert.That(d2, Is.EqualTo(new[] { 0.25, 0.25, -0.25 }).Within(1e-12));
        // Unreachable inside the box: the corner that comes closest.
        var d3 = Fab.Project(t, w, tensor(new double[] { 5.0 }), l2).data<double>().ToArray();
        Assert.That(d3, Is.EqualTo(new[] { 0.1, 0.5, 0.8 }).Within(1e-12));
    }

    [Test]
    public void TheSameSeedRepeats()
    {
        using var _ = NewDisposeScope();
        var model = new RowwiseNet(classes: 4, features: 64);
        using var g = new Generator(3);
        var images = rand(new long[] { 6, 1, 8, 8 }, generator: g);
        Tensor labels;
        using (no_grad()) labels = model.forward(images).argmax(1);
        AttackResult Run(long seed) => Fab.Run(model, images, labels, new LinfBall(0.02), new AttackRun(seed), new FabOptions { Iterations = 10, Restarts = 3, Exhaustive = true });
        using var a = Run(1);
        using var b = Run(1);
        Assert.That(a.MinimumNorm!.eq(b.MinimumNorm!).all().item<bool>(), Is.True, "same seed, same answer");
        Assert.That(a.Adversarial.eq(b.Adversarial).all().item<bool>(), Is.True);
    }

    [Test]
    public void BadSettingsAndThreatModelsAreRefused()
    {
        using var _ = NewDisposeScope();
        var (model, images, labels) = Problem(2);
        Assert.Throws<ReproInputException>(() => Fab.Run(model, images, labels, new L2Ball(1), new AttackRun(0), new FabOptions { Iterations = 0 }));
        Assert.Throws<ReproInputException>(() => Fab.Run(model, images, labels, new L2Ball(1), new AttackRun(0), new FabOptions { Beta = 1 }));
        Assert.Throws<ReproInputException>(() => Fab.Run(model, images, labels, new L2Ball(1), new AttackRun(0), new FabOptions { Eta = 0.5 }));
        Assert.Throws<ReproInputException>(() => Fab.Run(model, images, labels, new Unconstrained(), new AttackRun(0), new FabOptions()));
    }
}
