namespace Repro.Data.Assets;

/// <summary>
/// How assets are downloaded: an optional mirror, the time limits and the retries. Defaults suit
/// the public origins; tests shorten the limits so that a stalled server fails in a second.
/// </summary>
internal sealed record AssetFetchOptions
{
    public const string MirrorVariable = "REPRO_MIRROR";
    public const string OfflineVariable = "REPRO_OFFLINE";

    /// <summary>
    /// Base URL of a mirror (<c>REPRO_MIRROR</c>): an origin URL <c>https://host/path</c> is fetched
    /// from <c>{Mirror}/host/path</c>. The same checksums apply.
    /// </summary>
    public string? Mirror { get; init; }
    /// <summary>Longest wait for the response headers of one request (connect, TLS, server think time).</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Longest wait for the next bytes of a body: a transfer that stalls this long is abandoned.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Further attempts after a transient failure (connection error, 5xx, 408, 429, stall, truncated body).</summary>
    public int Retries { get; init; } = 3;
    /// <summary>Delay before the first retry; later ones back off exponentially (with jitter).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The defaults with the mirror from <c>REPRO_MIRROR</c>.</summary>
    public static AssetFetchOptions FromEnvironment()
    {
        string? mirror = Environment.GetEnvironmentVariable(MirrorVariable);
        return new AssetFetchOptions { Mirror = string.IsNullOrWhiteSpace(mirror) ? null : mirror.Trim() };
    }

    /// <summary>True when <c>REPRO_OFFLINE</c> is 1, true or yes.</summary>
    public static bool OfflineFromEnvironment() =>
        Environment.GetEnvironmentVariable(OfflineVariable)?.Trim().ToLowerInvariant() is "1" or "true" or "yes";

    /// <summary>The URL an origin is fetched from: the origin itself, or the mirror + origin host + path.</summary>
    /// <exception cref="ReproInputException">The mirror setting is not an absolute http(s) URL.</exception>
    public string UrlFor(string origin)
    {
        if (Mirror == null) return origin;
        if (!Uri.TryCreate(Mirror, UriKind.Absolute, out var mirror) || (mirror.Scheme != Uri.UriSchemeHttp && mirror.Scheme != Uri.UriSchemeHttps))
            throw new ReproInputException($"{MirrorVariable}='{Mirror}' is not an http(s) base URL (e.g. http://mirror.lab:8080/repro)");
        var source = new Uri(origin);
        return $"{Mirror.TrimEnd('/')}/{source.Host}{source.PathAndQuery}";
    }
}
