using Repro.Attacks;
using Repro.Explain;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Support;

/// <summary>SmoothGrad the slow, obvious way: copy k (of example k / samples) is noise[k], one copy at a time.</summary>
public static class SmoothGradReference
{
    /// <summary>
    /// SmoothGrad's documented noise, built here from the counter-noise primitives: copy k of example
    /// e is the stream keyed by Derive(RandomStreams.Key(seed, RandomPurpose.SmoothGradNoise, ids[e]), k); [N·samples, ...], copies of an example consecutive.
    /// </summary>
    public static Tensor Noise(Tensor images, IReadOnlyList<long> ids, long seed, int samples)
    {
        var rows = new List<Tensor>();
        for (int e = 0; e < ids.Count; e++)
            for (int k = 0; k < samples; k++)
            {
                var key = CounterNoise.Derive(tensor(new[] { RandomStreams.Key(seed, RandomPurpose.SmoothGradNoise, ids[e]) }), tensor((long)k));
                rows.Add(CounterNoise.Normal(key, images[0].numel()).reshape(images[0].shape));
            }
        return stack(rows);
    }

    public static Tensor Compute(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Tensor noise, double sigma, int samples)
    {
        var reference = zeros_like(images);
        for (int k = 0; k < noise.shape[0]; k++)
        {
            int e = k / samples;
            var copy = images[e..(e + 1)] + noise[k..(k + 1)] * sigma;
            reference[e..(e + 1)] += new VanillaGradient(model).Attribute(copy, AttributionTarget.Loss(labels[e..(e + 1)]));
        }
        return reference / samples;
    }
}
