namespace Repro.Attacks;

/// <summary>
/// How an attack picks, per example, the iterate it returns. Every choice but <see cref="Final"/>
/// is success first: if any visited iterate reached the objective's goal, the returned one did
/// too, so <see cref="AttackResult.Success"/> is never false where a successful iterate was seen.
/// (With more than two classes a higher cross-entropy does not imply a misclassification, and a
/// lower targeted loss does not imply the target is the top class: choosing by loss alone can
/// throw a successful iterate away.)
/// </summary>
public enum IterateChoice
{
    /// <summary>A successful iterate if any was seen (the latest such), else the latest iterate. Across restarts: success, then the best loss.</summary>
    Latest,
    /// <summary>Among successful iterates the one with the best loss; if none succeeded, the best-loss iterate.</summary>
    BestLoss,
    /// <summary>Among successful iterates the one closest to the image (the threat model's norm); if none succeeded, the best-loss iterate.</summary>
    SmallestPerturbation,
    /// <summary>The final iterate whatever earlier iterates achieved (not success first): what Madry et al.'s adversarial training uses, kept for the committed training recipe.</summary>
    Final,
}
