using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// An attack's output: the adversarial batch and, per example, the objective's final loss,
/// whether the goal was reached, and the perturbation's L2 and L-infinity norms (all on the
/// returned images). Owns its tensors.
/// </summary>
public sealed class AttackResult : IDisposable
{
    public required Tensor Adversarial { get; init; }
    public required Tensor Loss { get; init; }
    public required Tensor Success { get; init; }
    public required Tensor L2 { get; init; }
    public required Tensor Linf { get; init; }
    /// <summary>Logits at the returned images, when the objective computes them.</summary>
    public Tensor? Logits { get; init; }

    public double SuccessRate => Success.to_type(ScalarType.Float32).mean().item<float>();

    public void Dispose()
    {
        Adversarial.Dispose();
        Loss.Dispose();
        Success.Dispose();
        L2.Dispose();
        Linf.Dispose();
        Logits?.Dispose();
    }
}
