using System.Net;
using Polly;
using Polly.Retry;
using Repro.Report;

namespace Repro.Data.Assets;

/// <summary>
/// Downloads catalogue assets over HTTP(S), from their origin or a mirror
/// (<see cref="AssetFetchOptions.Mirror"/>), and installs them through <see cref="AssetInstaller"/>:
/// bytes go to a hidden staging folder under the root, are verified, unpacked and renamed into
/// place; a broken, stalled, refused or mismatched transfer leaves nothing behind. Transient
/// failures (connection errors, 5xx, 408, 429, stalls, truncated bodies) are retried by a Polly
/// retry pipeline with exponential back-off; 4xx answers and unresolvable host names are not. A progress bar with size and
/// rate goes where <see cref="Progress"/> says (the command: a bar on a terminal, nothing in logs); one line per installed
/// asset goes to the log.
/// </summary>
internal sealed class AssetFetcher : IDisposable
{
    readonly AssetFetchOptions options;
    readonly TextWriter log;
    readonly HttpClient http;
    readonly ResiliencePipeline retries;

    /// <summary>Where each download reports its bytes (default: nowhere; the command draws a bar on a terminal).</summary>
    public ProgressSink Progress { get; init; } = ProgressSinks.None;

    /// <summary>A fetcher with its retry pipeline.</summary>
    /// <param name="options">Mirror, timeouts and retries; by default <see cref="AssetFetchOptions.FromEnvironment"/>.</param>
    /// <param name="log">Where retries and installs are reported; by default stderr.</param>
    /// <param name="handler">The HTTP handler (tests may pass their own); by default a SocketsHttpHandler.</param>
    public AssetFetcher(AssetFetchOptions? options = null, TextWriter? log = null, HttpMessageHandler? handler = null)
    {
        this.options = options ?? AssetFetchOptions.FromEnvironment();
        this.log = log ?? Console.Error;
        http = new HttpClient(handler ?? DefaultHandler(this.options, HttpClient.DefaultProxy))
        {
            Timeout = Timeout.InfiniteTimeSpan, // per-phase limits below: a 170 MB download may take long, a stall may not
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd($"repro/{typeof(AssetFetcher).Assembly.GetName().Version}");
        var builder = new ResiliencePipelineBuilder();
        if (this.options.Retries > 0)
            builder.AddRetry(new RetryStrategyOptions
            {
                // A host name that does not resolve (no network, a typo in REPRO_MIRROR) will not resolve a second later.
                ShouldHandle = new PredicateBuilder().Handle<TransientFetchException>()
                    .Handle<HttpRequestException>(e => e.HttpRequestError != HttpRequestError.NameResolutionError).Handle<IOException>(),
                MaxRetryAttempts = this.options.Retries,
                Delay = this.options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    this.log.WriteLine($"  retrying in {args.RetryDelay.TotalSeconds:F1} s (attempt {args.AttemptNumber + 2} of {this.options.Retries + 1}): {args.Outcome.Exception?.Message}");
                    return default;
                },
            });
        retries = builder.Build();
    }

    /// <summary>
    /// The handler a fetcher uses unless given one: connect timeout from <paramref name="options"/>, no
    /// decompression (checksums are of the bytes as published), and <paramref name="systemProxy"/> (the
    /// environment's proxy) for every host but this machine's own (<see cref="LoopbackBypassingProxy"/>).
    /// </summary>
    internal static SocketsHttpHandler DefaultHandler(AssetFetchOptions options, IWebProxy systemProxy) => new()
    {
        ConnectTimeout = options.ResponseTimeout,
        AutomaticDecompression = DecompressionMethods.None,
        Proxy = new LoopbackBypassingProxy(systemProxy),
    };

    /// <summary>The fetch options in use (mirror, timeouts, retries).</summary>
    public AssetFetchOptions Options => options;

    /// <summary>
    /// Makes the asset present under <paramref name="root"/>, downloading it if it is not, and
    /// returns the path loaders read.
    /// </summary>
    /// <exception cref="ReproEnvironmentException">The download failed, stalled, was refused or did not
    /// verify, or the root cannot be written: one line naming the asset and the URL; nothing is kept.</exception>
    public string Fetch(Asset asset, string root, CancellationToken cancel = default)
    {
        string? present = asset.Find(root);
        if (present != null) return present;
        string url = options.UrlFor(asset.Url);
        string staging = AssetInstaller.CreateStaging(asset, root);
        try
        {
            string download = Path.Combine(staging, asset.FileName + ".part");
            try
            {
                retries.ExecuteAsync(async token => await DownloadOnce(asset, url, download, token), cancel).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is TransientFetchException or HttpRequestException or IOException or TimeoutException or InvalidDataException)
            {
                throw Failed(asset, url, e is HttpRequestException h ? Describe(h) : e.Message, e);
            }
            try
            {
                return AssetInstaller.Install(asset, download, root, staging, url, log);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                throw Failed(asset, url, e.Message, e);
            }
        }
        finally
        {
            AssetInstaller.RemoveStaging(staging);
        }
    }

    static ReproEnvironmentException Failed(Asset asset, string url, string why, Exception inner) =>
        new($"fetching {asset.Name} from {url} failed: {why}; nothing was kept", inner);

    /// <summary>One attempt: the whole body into <paramref name="destination"/> (rewritten), or an exception.</summary>
    async Task DownloadOnce(Asset asset, string url, string destination, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        HttpResponseMessage response;
        using (var headers = CancellationTokenSource.CreateLinkedTokenSource(cancel))
        {
            headers.CancelAfter(options.ResponseTimeout);
            try { response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token); }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new TransientFetchException($"no answer within {options.ResponseTimeout.TotalSeconds:g} s");
            }
        }
        using (response)
        {
            int status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                string message = $"HTTP {status} {response.ReasonPhrase}";
                if (status >= 500 || status is 408 or 429) throw new TransientFetchException(message);
                throw new InvalidDataException(message);
            }
            long? length = response.Content.Headers.ContentLength;
            long? expected = length ?? asset.Bytes;
            var progress = Progress(asset.Name, ProgressUnit.Bytes);
            await using var body = await response.Content.ReadAsStreamAsync(cancel);
            await using var file = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var buffer = new byte[1 << 16];
            long done = 0;
            while (true)
            {
                int n;
                using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                {
                    stall.CancelAfter(options.StallTimeout);
                    try { n = await body.ReadAsync(buffer, stall.Token); }
                    catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                    {
                        throw new TransientFetchException($"the transfer stalled: no data for {options.StallTimeout.TotalSeconds:g} s after {done:N0} bytes");
                    }
                }
                if (n == 0) break;
                await file.WriteAsync(buffer.AsMemory(0, n), cancel);
                done += n;
                progress(done, expected ?? 0);
            }
            if (length is long l && done != l)
                throw new TransientFetchException($"the transfer ended after {done:N0} of {l:N0} bytes");
            progress(done, done);
        }
    }

    static string Describe(HttpRequestException e) =>
        e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{e.Message} ({inner.Message})" : e.Message;

    /// <summary>Disposes the HTTP client.</summary>
    public void Dispose() => http.Dispose();

    /// <summary>A failure worth another attempt: a 5xx/408/429 answer, a stall, a truncated body.</summary>
    sealed class TransientFetchException(string message) : Exception(message);
}
