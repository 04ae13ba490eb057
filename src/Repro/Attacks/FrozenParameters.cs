using TorchSharp;

namespace Repro.Attacks;

/// <summary>
/// Freezes modules for an attack, attribution or feature visualisation and gives them back exactly as
/// they were on dispose: every parameter's requires_grad is turned off (only input gradients are
/// needed, and skipping weight gradients saves a large part of the backward pass), and every module
/// is put in eval mode, so BatchNorm uses its running statistics and never updates them (each
/// example's result is independent of the rest of its batch, and no buffer of the model changes)
/// and dropout is off. Each submodule's own training flag is restored, outermost first, so a model
/// that mixes modes gets its mix back. Every attack and attribution runs inside one
/// (<see cref="Pgd"/>, <c>VanillaGradient</c>, and through them SmoothGrad and feature visualisation).
/// </summary>
public sealed class FrozenParameters : IDisposable
{
    readonly List<(TorchSharp.Modules.Parameter Parameter, bool RequiresGrad)> saved = [];
    readonly List<(torch.nn.Module Module, int Depth, bool Training)> modes = [];

    /// <summary>Turns off requires_grad on every parameter of <paramref name="modules"/> and puts them in eval mode, remembering each parameter's flag and each module's mode.</summary>
    /// <param name="modules">The modules to freeze (for an attack, <see cref="AttackObjective.Modules"/>).</param>
    public FrozenParameters(IEnumerable<torch.nn.Module> modules)
    {
        foreach (var module in modules)
        {
            foreach (var p in module.parameters())
            {
                saved.Add((p, p.requires_grad));
                p.requires_grad = false;
            }
            modes.Add((module, 0, module.training));
            foreach (var (name, child) in module.named_modules())
                modes.Add((child, name.Count(c => c == '.') + 1, child.training));
        }
        if (modes.Any(m => m.Training))
            foreach (var (module, depth, _) in modes)
                if (depth == 0) module.eval();
    }

    /// <summary>Restores every parameter's requires_grad and every module's training flag as they were.</summary>
    public void Dispose()
    {
        foreach (var (p, flag) in saved) p.requires_grad = flag;
        saved.Clear();
        // train(flag) is recursive: set the outermost modules first, then correct the inner ones that differ.
        if (modes.Any(m => m.Training))
            foreach (var (module, _, training) in modes.OrderBy(m => m.Depth))
                if (module.training != training) module.train(training);
        modes.Clear();
    }
}
