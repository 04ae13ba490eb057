using TorchSharp;

namespace Repro.Attacks;

/// <summary>
/// Turns off requires_grad on every parameter of some modules for the lifetime of the object, and
/// restores each flag exactly as it was on dispose. Attacks and explanations need gradients only
/// with respect to the input; skipping the weight gradients saves a large part of the backward pass.
/// </summary>
public sealed class FrozenParameters : IDisposable
{
    readonly List<(TorchSharp.Modules.Parameter Parameter, bool RequiresGrad)> saved = [];

    public FrozenParameters(IEnumerable<torch.nn.Module> modules)
    {
        foreach (var module in modules)
            foreach (var p in module.parameters())
            {
                saved.Add((p, p.requires_grad));
                p.requires_grad = false;
            }
    }

    public void Dispose()
    {
        foreach (var (p, flag) in saved) p.requires_grad = flag;
        saved.Clear();
    }
}
