using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Attacks;

/// <summary>
/// Runs float32 models in a lower precision (<see cref="AttackPrecision"/>) for the duration of a
/// search, and confirms what the search returns in float32.
/// <para>
/// <see cref="Enter"/> keeps an exact float32 copy of each module's parameters and floating buffers,
/// converts the module to the precision once (TorchSharp's <c>Module.to</c>: parameters and buffers
/// are replaced by converted ones, not per step), and hooks the module's <c>call</c> so that it still
/// takes float32 images [N,...] in [0,1] (cast to the precision on the way in; the input gradient
/// flows back through the cast as float32) and returns float32 outputs (logits). Dispose converts the
/// module back and copies the float32 values in, so the model is exactly as it was (its parameter
/// objects are new ones: hold none across a low-precision attack). Scopes nest per module (a
/// SmoothGrad around its inner gradient converts once); the same module in two precisions at once is
/// refused. Everything outside the module (projections, step norms, iterate bookkeeping, loss
/// reductions) sees float32 tensors. Callers must use <c>call</c>, not <c>forward</c>, on the module
/// (the attacks' objectives and the attributions do).
/// </para>
/// </summary>
public sealed class LowPrecision : IDisposable
{
    sealed class Entry(AttackPrecision precision, List<(string Name, Tensor Value)> parameters, List<(string Name, Tensor Value)> buffers, Action unhook)
    {
        public AttackPrecision Precision { get; } = precision;
        public int Count { get; set; } = 1;
        public List<(string Name, Tensor Value)> Parameters { get; } = parameters;
        public List<(string Name, Tensor Value)> Buffers { get; } = buffers;
        public Action Unhook { get; } = unhook;
    }

    static readonly object gate = new();
    static readonly Dictionary<nn.Module, Entry> active = new(ReferenceEqualityComparer.Instance);
    readonly List<nn.Module> modules;
    bool disposed;

    LowPrecision(List<nn.Module> modules) => this.modules = modules;

    /// <summary>
    /// Converts <paramref name="modules"/> (each taking and returning one tensor) to <paramref name="precision"/>
    /// until the returned scope is disposed; null for <see cref="AttackPrecision.Float32"/> (nothing to do).
    /// </summary>
    /// <exception cref="ReproInputException">A module's floating parameters are not float32, or a module does not take and return one tensor.</exception>
    /// <exception cref="InvalidOperationException">A module is already in another precision.</exception>
    public static LowPrecision? Enter(IEnumerable<nn.Module> modules, AttackPrecision precision)
    {
        if (precision == AttackPrecision.Float32) return null;
        var dtype = precision.DType();
        var entered = new List<nn.Module>();
        lock (gate)
        {
            try
            {
                foreach (var module in modules.Distinct(ReferenceEqualityComparer.Instance).Cast<nn.Module>())
                {
                    if (active.TryGetValue(module, out var entry))
                    {
                        if (entry.Precision != precision)
                            throw new InvalidOperationException($"the module is already running in {entry.Precision.ShortName()}; it cannot run in {precision.ShortName()} at the same time");
                        entry.Count++;
                        entered.Add(module);
                        continue;
                    }
                    if (module is not nn.Module<Tensor, Tensor> typed)
                        throw new ReproInputException($"precision {precision.ShortName()}: the model must take and return one tensor ({module.GetType().Name} does not)");
                    foreach (var (name, p) in module.named_parameters())
                        if (p.is_floating_point() && p.dtype != ScalarType.Float32)
                            throw new ReproInputException($"precision {precision.ShortName()} needs a float32 model; parameter '{name}' is {p.dtype}");
                    List<(string, Tensor)> parameters, buffers;
                    using (no_grad())
                    {
                        parameters = module.named_parameters().Select(t => (t.name, t.parameter.detach().clone().DetachFromDisposeScope())).ToList();
                        buffers = module.named_buffers().Where(t => t.buffer.is_floating_point())
                            .Select(t => (t.name, t.buffer.detach().clone().DetachFromDisposeScope())).ToList();
                        module.to(dtype);
                    }
                    var pre = typed.register_forward_pre_hook((_, x) => x.is_floating_point() && x.dtype != dtype ? x.to(dtype) : null!);
                    var post = typed.register_forward_hook((_, _, y) => y.is_floating_point() && y.dtype != ScalarType.Float32 ? y.to(ScalarType.Float32) : null!);
                    active[module] = new Entry(precision, parameters, buffers, () =>
                    {
                        pre.remove();
                        post.remove();
                    });
                    entered.Add(module);
                }
            }
            catch
            {
                foreach (var module in entered) Leave(module);
                throw;
            }
        }
        return new LowPrecision(entered);
    }

    /// <summary>Whether <paramref name="module"/> is in a low precision now (inside an <see cref="Enter"/> scope).</summary>
    public static bool IsActive(nn.Module module)
    {
        lock (gate) return active.ContainsKey(module);
    }

    /// <summary>Leaves the scope: the last one out converts each module back to its exact float32 parameters and buffers.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        lock (gate)
            foreach (var module in modules) Leave(module);
    }

    static void Leave(nn.Module module)
    {
        var entry = active[module];
        if (--entry.Count > 0) return;
        active.Remove(module);
        entry.Unhook();
        using (no_grad())
        {
            module.to(ScalarType.Float32);
            var parameters = module.named_parameters().ToDictionary(t => t.name, t => (Tensor)t.parameter);
            foreach (var (name, value) in entry.Parameters)
            {
                parameters[name].copy_(value);
                value.Dispose();
            }
            var buffers = module.named_buffers().ToDictionary(t => t.name, t => t.buffer);
            foreach (var (name, value) in entry.Buffers)
            {
                buffers[name].copy_(value);
                value.Dispose();
            }
        }
    }

    /// <summary>
    /// The float32 confirmation of a low-precision search: <paramref name="searched"/>'s images are
    /// checked to lie in <paramref name="threat"/> around <paramref name="original"/> and in [0,1],
    /// then evaluated by one float32 forward pass of <paramref name="objective"/>; the returned result
    /// has the same images, and loss, logits and success from that pass, and L2 / L-inf norms of the
    /// float32 perturbation. Takes <paramref name="searched"/>'s tensors (its loss, logits and success are freed).
    /// </summary>
    /// <exception cref="InvalidOperationException">An image outside the ball or the box (an attack bug), or the objective's modules still in a low precision.</exception>
    public static AttackResult Confirm(AttackObjective objective, ThreatModel threat, Tensor original, AttackResult searched)
    {
        if (objective.Modules.Any(IsActive))
            throw new InvalidOperationException("a float32 confirmation cannot run while the model is still in a low precision (nested scopes)");
        using var _ = no_grad();
        var adversarial = searched.Adversarial;
        Tensor loss, success, l2, linf;
        Tensor? logits;
        using (var scope = NewDisposeScope())
        {
            var delta = (adversarial - original).to_type(ScalarType.Float32).flatten(1);
            double worst = threat.Distance(original, adversarial).max().item<float>();
            double low = adversarial.min().item<float>(), high = adversarial.max().item<float>();
            if (worst > threat.Eps + threat.Eps * 1e-4 + 1e-6 || low < 0 || high > 1)
                throw new InvalidOperationException($"a low-precision search returned an image outside {threat} ∩ [0,1] (distance {worst}, pixels in [{low}, {high}]): an attack bug");
            var value = objective.Evaluate(adversarial);
            loss = value.PerExampleLoss.detach().MoveToOuterDisposeScope();
            logits = value.Logits?.detach().MoveToOuterDisposeScope();
            success = objective.Succeeded(value).MoveToOuterDisposeScope();
            l2 = delta.norm(1, p: 2).MoveToOuterDisposeScope();
            linf = delta.abs().amax(1).MoveToOuterDisposeScope();
        }
        searched.Loss.Dispose();
        searched.Success.Dispose();
        searched.L2.Dispose();
        searched.Linf.Dispose();
        searched.Logits?.Dispose();
        return new AttackResult { Adversarial = adversarial, Loss = loss, Logits = logits, Success = success, L2 = l2, Linf = linf };
    }
}
