using Repro.Attacks;
using Repro.Explain;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Attacks;

/// <summary>
/// Public entry points refuse what would go wrong later, by the parameter's name and before libtorch
/// runs: null arguments, images that are not [N,C,H,W] floats in [0,1] (8-bit images would be attacked
/// in a ball 255 times too small and leave it), labels of the wrong count or outside the model's
/// classes, example ids that do not match the batch, counts below 1. No message names a command-line flag.
/// </summary>
public class LibraryArgumentTests
{
    static nn.Module<Tensor, Tensor> Model() => nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5));
    static Tensor Images(long n = 2) => full(new long[] { n, 3, 4, 4 }, 0.5f);
    static Tensor Labels(params long[] values) => tensor(values);

    static readonly IAttack[] Attacks =
    [
        new PgdAttack(steps: 2), new ApgdAttack(ApgdLoss.CrossEntropy, new ApgdOptions { Iterations = 2 }), new ApgdTargetedAttack(new ApgdOptions { Iterations = 2 }),
        new SquareAttack(new SquareOptions { Queries = 2 }),
    ];

    static T Refused<T>(TestDelegate call) where T : Exception
    {
        var e = Assert.Catch<T>(call)!;
        Assert.That(e.Message, Does.Not.Contain("--"), "the library never names a command-line flag");
        Assert.That(e, Is.Not.InstanceOf<System.Runtime.InteropServices.ExternalException>());
        return e;
    }

    [TestCaseSource(nameof(Attacks))]
    public void NullArgumentsAreNamed(IAttack attack)
    {
        using var scope = NewDisposeScope();
        var threat = new L2Ball(0.5);
        Assert.That(Refused<ArgumentNullException>(() => attack.Run(null!, Images(), Labels(0, 1), threat, new AttackRun(0))).ParamName, Is.EqualTo("model"));
        Assert.That(Refused<ArgumentNullException>(() => attack.Run(Model(), null!, Labels(0, 1), threat, new AttackRun(0))).ParamName, Is.EqualTo("images"));
        Assert.That(Refused<ArgumentNullException>(() => attack.Run(Model(), Images(), null!, threat, new AttackRun(0))).ParamName, Is.EqualTo("labels"));
        Assert.That(Refused<ArgumentNullException>(() => attack.Run(Model(), Images(), Labels(0, 1), null!, new AttackRun(0))).ParamName, Is.EqualTo("threat"));
    }

    [TestCaseSource(nameof(Attacks))]
    public void ImagesIn0To255AreRefused(IAttack attack)
    {
        using var scope = NewDisposeScope();
        var e = Refused<ReproArgumentException>(() => attack.Run(Model(), Images() * 255, Labels(0, 1), new L2Ball(0.5), new AttackRun(0)));
        Assert.That(e.ParamName, Is.EqualTo("images"));
        Assert.That(e.Message, Does.Contain("[0,1]").And.Contain("255"));
    }

    [TestCaseSource(nameof(Attacks))]
    public void ImagesThatAreNotABatchOrNotFloatAreRefused(IAttack attack)
    {
        using var scope = NewDisposeScope();
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), Images()[0], Labels(0, 1), new L2Ball(0.5), new AttackRun(0))).ParamName, Is.EqualTo("images"));
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), Images().to_type(ScalarType.Byte), Labels(0, 1), new L2Ball(0.5), new AttackRun(0))).ParamName, Is.EqualTo("images"));
        var nan = Images();
        nan[0, 0, 0, 0] = float.NaN;
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), nan, Labels(0, 1), new L2Ball(0.5), new AttackRun(0))).ParamName, Is.EqualTo("images"));
    }

    [TestCaseSource(nameof(Attacks))]
    public void LabelsOfTheWrongCountOrOutsideTheClassesAreRefused(IAttack attack)
    {
        using var scope = NewDisposeScope();
        var threat = new L2Ball(0.5);
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), Images(), Labels(0, 1, 2), threat, new AttackRun(0))).ParamName, Is.EqualTo("labels"));
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), Images(), Labels(0, 5), threat, new AttackRun(0))).ParamName, Is.EqualTo("labels"));
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), Images(), Labels(0, -1), threat, new AttackRun(0))).ParamName, Is.EqualTo("labels"));
        Assert.That(Refused<ReproArgumentException>(() => attack.Run(Model(), Images(), tensor(new[] { 0, 1 }), threat, new AttackRun(0))).ParamName, Is.EqualTo("labels"), "int32 labels");
    }

    [TestCaseSource(nameof(Attacks))]
    public void IdsThatDoNotMatchTheBatchAreRefused(IAttack attack)
    {
        using var scope = NewDisposeScope();
        var e = Refused<ReproInputException>(() => attack.Run(Model(), Images(), Labels(0, 1), new L2Ball(0.5), new AttackRun(0, [1, 2, 3])));
        Assert.That(e.Message, Does.Contain("3 example ids for a batch of 2"));
    }

    [Test]
    public void PgdOnAnObjectiveRefusesTheSameWay()
    {
        using var scope = NewDisposeScope();
        var objective = CrossEntropyObjective.Untargeted(Model(), Labels(0, 1));
        var options = new PgdOptions { Steps = 2, StepSize = 0.1 };
        Assert.That(Refused<ReproArgumentException>(() => Pgd.Run(objective, Images() * 255, new L2Ball(1), new AttackRun(0), options)).ParamName, Is.EqualTo("images"));
        Assert.That(Refused<ReproArgumentException>(() => Pgd.Run(objective, Images(3), new L2Ball(1), new AttackRun(0), options)).ParamName, Is.EqualTo("labels"));
        Assert.That(Refused<ArgumentNullException>(() => Pgd.Run(null!, Images(), new L2Ball(1), new AttackRun(0), options)).ParamName, Is.EqualTo("objective"));
        Assert.That(Refused<ArgumentNullException>(() => CrossEntropyObjective.Targeted(Model(), null!)).ParamName, Is.EqualTo("targets"));
    }

    [Test]
    public void AttributionsRefuseBadArgumentsByName()
    {
        using var scope = NewDisposeScope();
        Assert.That(Refused<ReproArgumentException>(() => _ = new SmoothGrad(new VanillaGradient(Model()), samples: 0)).ParamName, Is.EqualTo("samples"));
        Assert.That(Refused<ReproArgumentException>(() => _ = new SmoothGrad(new VanillaGradient(Model()), batchSize: 0)).ParamName, Is.EqualTo("batchSize"));
        Assert.That(Refused<ReproArgumentException>(() => _ = new SmoothGrad(new VanillaGradient(Model()), sigma: double.PositiveInfinity)).ParamName, Is.EqualTo("sigma"));
        Assert.That(Refused<ArgumentNullException>(() => _ = new VanillaGradient(null!)).ParamName, Is.EqualTo("model"));
        var smoothGrad = new SmoothGrad(new VanillaGradient(Model()), samples: 2);
        Assert.That(Refused<ReproArgumentException>(() => smoothGrad.Attribute(Images() * 255, AttributionTarget.Loss(Labels(0, 1)))).ParamName, Is.EqualTo("images"));
        Assert.That(Refused<ReproArgumentException>(() => smoothGrad.Attribute(Images(), AttributionTarget.Loss(Labels(0, 1)), [1])).ParamName, Is.EqualTo("exampleIds"));
    }

    [Test]
    public void ValidArgumentsStillRun()
    {
        using var scope = NewDisposeScope();
        foreach (var attack in Attacks)
        {
            using var result = attack.Run(Model(), Images(), Labels(0, 1), new L2Ball(0.5), new AttackRun(0));
            Assert.That(result.Adversarial.shape, Is.EqualTo(new long[] { 2, 3, 4, 4 }), attack.Name);
        }
    }
}
