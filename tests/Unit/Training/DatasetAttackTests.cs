using Repro.Attacks;
using Repro.Models;
using Repro.Training;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

public class DatasetAttackTests
{
    [Test]
    public void ChunksChangeNothing()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(10, seed: 1);
        var model = LinearTraining.NewModel(SyntheticTwoClass.Pixels, 2, seed: 1);
        var options = new PgdOptions { StepSize = 0.02, Steps = 5 };
        using var whole = DatasetAttack.Run(model, images, labels, new L2Ball(0.1), options, AttackLoss.CrossEntropy, chunk: 100);
        using var chunked = DatasetAttack.Run(model, images, labels, new L2Ball(0.1), options, AttackLoss.CrossEntropy, chunk: 3);
        Assert.That(chunked.Adversarial.shape, Is.EqualTo(images.shape));
        Assert.That((chunked.Adversarial - whole.Adversarial).abs().max().item<float>(), Is.LessThan(1e-6f));
        Assert.That(chunked.AdversarialPrediction.eq(whole.AdversarialPrediction).all().item<bool>(), Is.True);
        Assert.That(chunked.L2.allclose(whole.L2), Is.True);
        Assert.That(chunked.CleanPrediction.eq(LinearTraining.Predict(model, images)).all().item<bool>(), Is.True);
    }

    [Test]
    public void FlippedMeansRightBeforeAndWrongAfter()
    {
        using var _ = NewDisposeScope();
        var set = new AttackedSet
        {
            Adversarial = zeros(4, 3),
            CleanPrediction = tensor(new long[] { 0, 0, 1, 1 }),
            AdversarialPrediction = tensor(new long[] { 1, 0, 0, 1 }),
            L2 = zeros(4),
        };
        using (set)
            Assert.That(set.Flipped(tensor(new long[] { 0, 0, 0, 1 })).data<bool>().ToArray(), Is.EqualTo(new[] { true, false, false, false }),
                "example 2 was wrong before the attack, so it is not counted as flipped");
    }
}
