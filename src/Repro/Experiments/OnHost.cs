using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// The figure and report boundary: small per-example results (a few values per image) read back
/// from whatever device they were computed on, for captions, tables and the report.
/// </summary>
internal static class OnHost
{
    /// <summary>The values of <paramref name="perExample"/> (any device, any numeric dtype) as floats on the CPU.</summary>
    public static float[] Floats(Tensor perExample)
    {
        using var onCpu = perExample.detach().to_type(ScalarType.Float32).cpu();
        return onCpu.data<float>().ToArray();
    }
}
