using Repro.Attacks;
using static TorchSharp.torch;

namespace Repro.Experiments;

/// <summary>
/// <see cref="Pgd.Run"/> over a batch in chunks, so that a full-scale claim (hundreds of 224x224
/// images) stays within a GPU's memory. Every example is attacked independently and no random start
/// is drawn per chunk (the options' seed is used as given), so the result equals one call on the
/// whole batch; with one chunk it is that call.
/// </summary>
internal static class ChunkedPgd
{
    /// <param name="objective">The objective for a chunk, given the chunk's first index and length.</param>
    /// <param name="threat">The ball and box the attack stays in.</param>
    /// <param name="images">Clean images [N,C,H,W] in [0,1].</param>
    /// <param name="options">PGD options; <c>RandomStart</c> is refused when more than one chunk is needed.</param>
    /// <param name="chunk">Most examples per <see cref="Pgd.Run"/> call.</param>
    /// <exception cref="ArgumentException">More than one chunk is needed and <paramref name="options"/> asks for a random start.</exception>
    public static AttackResult Run(Func<long, long, AttackObjective> objective, ThreatModel threat, Tensor images, PgdOptions options, int chunk = 64)
    {
        long n = images.shape[0];
        if (n <= chunk) return Pgd.Run(objective(0, n), threat, images, options);
        if (options.RandomStart) throw new ArgumentException("chunked PGD with random starts would draw different starts than one call; attack in one call");
        var parts = new List<AttackResult>();
        try
        {
            for (long start = 0; start < n; start += chunk)
            {
                long length = Math.Min(chunk, n - start);
                parts.Add(Pgd.Run(objective(start, length), threat, images.narrow(0, start, length), options));
            }
            return new AttackResult
            {
                Adversarial = cat(parts.Select(p => p.Adversarial).ToList()),
                Loss = cat(parts.Select(p => p.Loss).ToList()),
                Success = cat(parts.Select(p => p.Success).ToList()),
                L2 = cat(parts.Select(p => p.L2).ToList()),
                Linf = cat(parts.Select(p => p.Linf).ToList()),
                Logits = parts.All(p => p.Logits is not null) ? cat(parts.Select(p => p.Logits!).ToList()) : null,
            };
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
