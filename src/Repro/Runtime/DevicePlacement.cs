using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Runtime;

/// <summary>
/// The one place where experiments and training move models and tensors to their device, so that a
/// test can watch where they go: <see cref="Observe"/> installs an observer (for the current async
/// flow only) that sees every placement — what is placed and on which device — before it happens,
/// and may stop the run there by throwing. Without an observer a placement is a plain <c>to(device)</c>.
/// </summary>
internal static class DevicePlacement
{
    static readonly AsyncLocal<Action<string, Device>?> observer = new();

    /// <summary>
    /// Calls <paramref name="onPlacement"/> (what, device) before every placement of this async flow
    /// until the returned handle is disposed. For tests: it may throw to stop the run at that placement.
    /// </summary>
    public static IDisposable Observe(Action<string, Device> onPlacement)
    {
        var previous = observer.Value;
        observer.Value = onPlacement;
        return new Restore(() => observer.Value = previous);
    }

    /// <summary><paramref name="tensor"/> on <paramref name="device"/> (a new handle; the caller disposes both).</summary>
    public static Tensor To(Tensor tensor, Device device, string what = "tensor")
    {
        observer.Value?.Invoke($"{what} [{string.Join(",", tensor.shape)}] {tensor.dtype}", device);
        return tensor.to(device);
    }

    /// <summary>Moves <paramref name="model"/> to <paramref name="device"/> in place and returns it.</summary>
    public static T To<T>(T model, Device device) where T : nn.Module
    {
        observer.Value?.Invoke($"model {model.GetType().Name}", device);
        model.to(device);
        return model;
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
