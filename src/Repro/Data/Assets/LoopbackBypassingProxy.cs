using System.Net;

namespace Repro.Data.Assets;

/// <summary>
/// The system's proxy (on Linux: <c>http_proxy</c>, <c>https_proxy</c>, <c>all_proxy</c> and <c>no_proxy</c>,
/// as .NET reads them), except that a loopback address (<c>localhost</c>, 127.0.0.0/8, ::1) is always
/// reached directly. Why: a mirror on the user's own machine (<c>REPRO_MIRROR=http://127.0.0.1:8000</c>)
/// is the user's loopback, not the proxy's; sending it through a proxy reaches the wrong machine or
/// nothing, and sandboxes and corporate networks commonly set a proxy without a <c>no_proxy</c> entry.
/// </summary>
internal sealed class LoopbackBypassingProxy(IWebProxy system) : IWebProxy
{
    public ICredentials? Credentials
    {
        get => system.Credentials;
        set => system.Credentials = value;
    }

    public Uri? GetProxy(Uri destination) => IsBypassed(destination) ? null : system.GetProxy(destination);

    public bool IsBypassed(Uri host) => host.IsLoopback || system.IsBypassed(host);
}
