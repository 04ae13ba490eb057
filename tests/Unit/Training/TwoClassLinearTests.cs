using Repro.Models;
using Repro.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Training;

public class TwoClassLinearTests
{
    /// <summary>
    /// The margin form is a speed-up, not a different recipe: full-batch SGD on (w_0 - w_1, b_0 - b_1)
    /// with twice the rate ends where torch's SGD on the two-row Linear and cross-entropy ends.
    /// </summary>
    [Test]
    public void MarginFormSgdFollowsTheTwoRowSgdTrajectory()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(64, seed: 1);
        var trained = LinearTraining.Standard(images, labels, iterations: 50, learningRate: 0.1, seed: 4).Model;

        var reference = LinearTraining.NewModel(SyntheticTwoClass.Pixels, 2, seed: 4);
        var sgd = optim.SGD(reference.parameters(), 0.1);
        for (int i = 0; i < 50; i++)
        {
            sgd.zero_grad();
            nn.functional.cross_entropy(reference.forward(images), labels).backward();
            sgd.step();
        }

        Assert.That(trained.Layer.weight!.allclose(reference.Layer.weight!, rtol: 1e-4, atol: 1e-5), Is.True, "weights");
        Assert.That(trained.Layer.bias!.allclose(reference.Layer.bias!, rtol: 1e-4, atol: 1e-5), Is.True, "biases");
    }

    [Test]
    public void BackToTwoRowsGivesTheSameModel()
    {
        using var _ = NewDisposeScope();
        var model = LinearTraining.NewModel(12, 2, seed: 2);
        using var form = TwoClassLinear.From(model);
        var back = form.ToClassifier();
        Assert.That(back.Layer.weight!.allclose(model.Layer.weight!, atol: 1e-7), Is.True);
        Assert.That(back.Layer.bias!.allclose(model.Layer.bias!, atol: 1e-7), Is.True);
    }

    [Test]
    public void ThreeClassesAreRefused()
    {
        using var model = new LinearClassifier(12, 3);
        Assert.That(() => TwoClassLinear.From(model), Throws.TypeOf<ReproInputException>().With.Message.Contains("3 classes"));
    }

    /// <summary>
    /// The closed form is the loss at the worst point of the ball: at x - eps·s·v/||v|| the cross-entropy
    /// equals <see cref="TwoClassLinear.WorstCaseCrossEntropy"/>, and no other point of the ball does worse.
    /// </summary>
    [Test]
    public void TheWorstCaseLossIsTheLossAtTheWorstPointOfTheBall()
    {
        using var _ = NewDisposeScope();
        var (images, labels) = SyntheticTwoClass.Make(16, seed: 2);
        var model = LinearTraining.NewModel(SyntheticTwoClass.Pixels, 2, seed: 3);
        using var form = TwoClassLinear.From(model);
        var flat = images.flatten(1);
        var sign = TwoClassLinear.LabelSign(labels);
        const double eps = 0.05;
        using var __ = no_grad();

        var v = form.Direction.detach();
        var worst = flat - eps * sign.unsqueeze(1) * (v / v.norm()).unsqueeze(0);
        double atWorst = nn.functional.cross_entropy(model.forward(worst), labels).item<float>();
        double closedForm = form.WorstCaseCrossEntropy(flat, sign, eps).item<float>();
        Assert.That(closedForm, Is.EqualTo(atWorst).Within(1e-5));

        manual_seed(9);
        for (int trial = 0; trial < 20; trial++)
        {
            var direction = randn_like(flat);
            var other = flat + eps * direction / direction.norm(1, keepdim: true, p: 2);
            Assert.That(nn.functional.cross_entropy(model.forward(other), labels).item<float>(), Is.LessThanOrEqualTo(closedForm + 1e-6));
        }
        Assert.That(TwoClassLinear.WorstCaseMarginDrop(model, eps), Is.EqualTo(eps * v.norm().item<float>()).Within(1e-6));
    }
}
