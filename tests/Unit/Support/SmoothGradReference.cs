using Repro.Explain;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Support;

/// <summary>SmoothGrad the slow, obvious way: copy k (of example k / samples) is noise[k], one copy at a time.</summary>
public static class SmoothGradReference
{
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
