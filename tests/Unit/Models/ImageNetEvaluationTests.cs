using Repro.Data;
using Repro.Models;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models;

public class ImageNetEvaluationTests
{
    /// <summary>Ignores the image: always ranks the given classes first, in the given order.</summary>
    sealed class FixedRanking : nn.Module<Tensor, Tensor>
    {
        readonly Tensor scores;

        public FixedRanking(int[] ranking) : base("FixedRanking")
        {
            var values = new float[1000];
            for (int i = 0; i < ranking.Length; i++) values[ranking[i]] = ranking.Length - i;
            scores = tensor(values);
            register_buffer("scores", scores);
        }

        public override Tensor forward(Tensor images) => scores.unsqueeze(0).expand(images.shape[0], -1).clone();
    }

    [Test]
    public void TopOneAndTopFiveCountTheLabelsAmongTheBestRankedClasses()
    {
        TestData.Require("imagenet/val");
        var val = ImageNetValidation.Open(TestData.Paths.DataRoot);
        var samples = val.Samples.Take(20).ToList();
        int[] present = samples.Select(s => s.Label).Distinct().ToArray();
        Assume.That(present, Has.Length.GreaterThanOrEqualTo(2), "the first 20 images span several classes");
        // Best: the first present class; then an absent class; then the second present class;
        // the 6th-ranked class is present too but outside the top 5.
        int absent = Enumerable.Range(0, 1000).First(c => !present.Contains(c));
        int[] ranking = [present[0], absent, present[1], 990, 991, present.Length > 2 ? present[2] : 992];
        using var model = new FixedRanking(ranking);

        var accuracy = ImageNetEvaluation.Evaluate(model, samples, batchSize: 8);

        Assert.That(accuracy.Count, Is.EqualTo(20));
        Assert.That(accuracy.Top1Correct, Is.EqualTo(samples.Count(s => s.Label == present[0])));
        Assert.That(accuracy.Top5Correct, Is.EqualTo(samples.Count(s => ranking.Take(5).Contains(s.Label))));
        Assert.That(accuracy.Top1, Is.EqualTo(accuracy.Top1Correct / 20.0));
    }
}
