using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// The per-example record an attack keeps of the iterate it will return: images, the objective's
/// loss and logits there, whether it succeeded, and (for <see cref="IterateChoice.SmallestPerturbation"/>)
/// its distance to the image. Each offered iterate replaces the record, per example, where
/// <see cref="IterateChoice"/> prefers it. Offers may cover a subset of the rows (attacks drop
/// examples that are done). Owns its tensors; none of them is in a dispose scope.
/// </summary>
public sealed class IterateBook : IDisposable
{
    readonly AttackObjective objective;
    readonly ThreatModel threat;
    readonly Tensor original;
    readonly IterateChoice choice;

    /// <summary>An empty book; the first <see cref="Offer"/> fills it.</summary>
    /// <param name="objective">The attack's objective: its direction decides which loss is better.</param>
    /// <param name="threat">The threat model whose norm measures distances (for <see cref="IterateChoice.SmallestPerturbation"/>).</param>
    /// <param name="original">The clean images [N,...] the iterates perturb.</param>
    /// <param name="choice">Which iterate to keep per example.</param>
    public IterateBook(AttackObjective objective, ThreatModel threat, Tensor original, IterateChoice choice)
    {
        this.objective = objective;
        this.threat = threat;
        this.original = original;
        this.choice = choice;
    }

    /// <summary>The kept iterate [N,...] per example; null before the first offer.</summary>
    public Tensor? Images { get; private set; }
    /// <summary>The objective's loss [N] at the kept iterates; null before the first offer.</summary>
    public Tensor? Loss { get; private set; }
    /// <summary>Logits [N,K] at the kept iterates; null before the first offer or when the objective gives none.</summary>
    public Tensor? Logits { get; private set; }
    /// <summary>Per-example bool [N]: the kept iterate succeeded; null before the first offer.</summary>
    public Tensor? Success { get; private set; }
    Tensor? distance;

    /// <summary>
    /// Offers an iterate for rows <paramref name="rows"/> (int64 indices into the book; null: all
    /// rows): images [M,...], loss [M], logits [M,K] or null, success bool [M]. The first offer
    /// must cover all rows. Nothing offered is kept by reference: the book copies what it keeps.
    /// </summary>
    public void Offer(Tensor? rows, Tensor images, Tensor loss, Tensor? logits, Tensor success)
    {
        using var _ = no_grad();
        if (Images is null)
        {
            if (rows is not null && rows.shape[0] != original.shape[0])
                throw new InvalidOperationException("the first iterate offered must cover every example");
            Images = images.detach().clone().DetachFromDisposeScope();
            Loss = loss.detach().clone().DetachFromDisposeScope();
            Logits = logits?.detach().clone().DetachFromDisposeScope();
            Success = success.clone().DetachFromDisposeScope();
            if (choice == IterateChoice.SmallestPerturbation) distance = threat.Distance(original, images).DetachFromDisposeScope();
            return;
        }
        using var scope = NewDisposeScope();
        Tensor Pick(Tensor t) => rows is null ? t : t.index_select(0, rows);
        var incumbentSuccess = Pick(Success!);
        var incumbentLoss = Pick(Loss!);
        Tensor? candidateDistance = null;
        if (choice == IterateChoice.SmallestPerturbation)
            candidateDistance = threat.Distance(rows is null ? original : original.index_select(0, rows), images);
        var prefer = Prefer(success, loss, candidateDistance, incumbentSuccess, incumbentLoss, distance is null ? null : Pick(distance));

        Replace(rows, prefer, images, Images, t => Images = t);
        Replace(rows, prefer, loss, Loss!, t => Loss = t);
        Replace(rows, prefer, success, Success!, t => Success = t);
        if (logits is not null && Logits is not null) Replace(rows, prefer, logits, Logits, t => Logits = t);
        if (candidateDistance is not null) Replace(rows, prefer, candidateDistance, distance!, t => distance = t);
    }

    /// <summary>Per example: is the candidate preferred to the incumbent?</summary>
    Tensor Prefer(Tensor success, Tensor loss, Tensor? candidateDistance, Tensor incumbentSuccess, Tensor incumbentLoss, Tensor? incumbentDistance)
    {
        var gained = success.logical_and(incumbentSuccess.logical_not());
        var same = success.eq(incumbentSuccess);
        return choice switch
        {
            IterateChoice.Final => ones_like(success),
            IterateChoice.Latest => success.logical_or(incumbentSuccess.logical_not()),
            IterateChoice.BestLoss => gained.logical_or(same.logical_and(objective.Better(loss, incumbentLoss))),
            IterateChoice.SmallestPerturbation => gained
                .logical_or(success.logical_and(incumbentSuccess).logical_and(candidateDistance!.lt(incumbentDistance!)))
                .logical_or(success.logical_or(incumbentSuccess).logical_not().logical_and(objective.Better(loss, incumbentLoss))),
            _ => throw new InvalidOperationException($"unknown iterate choice {choice}"),
        };
    }

    /// <summary>Writes the preferred candidate values into the record, in place for a subset of rows, else as a new tensor.</summary>
    static void Replace(Tensor? rows, Tensor prefer, Tensor candidate, Tensor record, Action<Tensor> set)
    {
        var mask = prefer.reshape(Broadcast(candidate));
        if (rows is null)
        {
            var merged = where(mask, candidate.detach(), record).DetachFromDisposeScope();
            record.Dispose();
            set(merged);
        }
        else
        {
            var merged = where(mask, candidate.detach(), record.index_select(0, rows));
            record.index_copy_(0, rows, merged.to_type(record.dtype));
        }
    }

    static long[] Broadcast(Tensor t)
    {
        var shape = Enumerable.Repeat(1L, (int)t.dim()).ToArray();
        shape[0] = t.shape[0];
        return shape;
    }

    /// <summary>
    /// Merges another book (of a run over rows <paramref name="rows"/> of this one; null: all)
    /// into this one with this book's preference. Used to combine restarts.
    /// </summary>
    public void Merge(Tensor? rows, IterateBook run)
    {
        if (run.Images is null) return;
        Offer(rows, run.Images, run.Loss!, run.Logits, run.Success!);
    }

    /// <summary>The record as an <see cref="AttackResult"/>, with the perturbation norms; the result takes the book's tensors (the book is empty after).</summary>
    public AttackResult TakeResult()
    {
        if (Images is null) throw new InvalidOperationException("no iterate was offered");
        using var _ = no_grad();
        Tensor l2, linf;
        using (var scope = NewDisposeScope())
        {
            var delta = (Images - original).flatten(1);
            l2 = delta.norm(1, p: 2).MoveToOuterDisposeScope();
            linf = delta.abs().amax(1).MoveToOuterDisposeScope();
        }
        // Aliases (new handles on the same storage) join the caller's dispose scope, as every other
        // tensor an attack returns does; the book's own handles are released.
        var result = new AttackResult { Adversarial = Images.alias(), Loss = Loss!.alias(), Success = Success!.alias(), L2 = l2, Linf = linf, Logits = Logits?.alias() };
        Dispose();
        Images = Loss = Logits = Success = distance = null;
        return result;
    }

    /// <summary>Frees the kept tensors.</summary>
    public void Dispose()
    {
        Images?.Dispose();
        Loss?.Dispose();
        Logits?.Dispose();
        Success?.Dispose();
        distance?.Dispose();
    }
}
