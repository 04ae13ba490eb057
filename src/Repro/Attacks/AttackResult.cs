using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// An attack's output: the adversarial batch and, per example, the objective's final loss,
/// whether the goal was reached, and the perturbation's L2 and L-infinity norms (all on the
/// returned images). Owns its tensors.
/// </summary>
public sealed class AttackResult : IDisposable
{
    /// <summary>The returned images [N,...] (the input's shape, e.g. [N,C,H,W]), in [0,1].</summary>
    public required Tensor Adversarial { get; init; }
    /// <summary>The objective's per-example loss [N] at the returned images.</summary>
    public required Tensor Loss { get; init; }
    /// <summary>Per-example bool [N]: the objective's goal holds at the returned images.</summary>
    public required Tensor Success { get; init; }
    /// <summary>Per-example L2 norm [N] of the perturbation (returned − original), in [0,1] pixel units.</summary>
    public required Tensor L2 { get; init; }
    /// <summary>Per-example L-infinity norm [N] of the perturbation (returned − original), in [0,1] pixel units.</summary>
    public required Tensor Linf { get; init; }
    /// <summary>Logits at the returned images, when the objective computes them.</summary>
    public Tensor? Logits { get; init; }
    /// <summary>
    /// Minimum-norm attacks (<see cref="Fab"/>): per example [N] (float64) the norm, in the threat model's
    /// norm and [0,1] pixel units, of the smallest adversarial perturbation found, whether or not it is
    /// within eps (0 for an image already misclassified, +infinity where none was found); null for other attacks.
    /// </summary>
    public Tensor? MinimumNorm { get; init; }

    /// <summary>Fraction of the examples whose attack succeeded, in [0,1].</summary>
    public double SuccessRate => Success.to_type(ScalarType.Float32).mean().item<float>();

    /// <summary>Disposes every tensor of the result.</summary>
    public void Dispose()
    {
        Adversarial.Dispose();
        Loss.Dispose();
        Success.Dispose();
        L2.Dispose();
        Linf.Dispose();
        Logits?.Dispose();
        MinimumNorm?.Dispose();
    }
}
