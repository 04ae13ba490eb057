using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Repro.Tests.Unit.Support;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (a free port chosen by the system) inside the test
/// process, with behaviours a real origin or mirror shows: a complete answer, an error status, a
/// body cut short, and a stall (headers or some bytes, then silence until disposed). Every
/// connection answers one request and closes. It counts the requests per path, so tests can bound
/// the retries. Loopback only: nothing leaves the machine.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    public abstract record Behaviour;
    public sealed record Serve(byte[] Body) : Behaviour;
    public sealed record Status(int Code, string Reason) : Behaviour;
    /// <summary>Announces the whole length, sends <paramref name="Sent"/> bytes, closes.</summary>
    public sealed record Truncate(byte[] Body, int Sent) : Behaviour;
    /// <summary>Announces the whole length, sends <paramref name="Sent"/> bytes, then sends nothing more.</summary>
    public sealed record StallBody(byte[] Body, int Sent) : Behaviour;
    /// <summary>Reads the request and never answers.</summary>
    public sealed record StallHeaders : Behaviour;

    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource stop = new();
    readonly ConcurrentDictionary<string, Behaviour> routes = new();
    readonly ConcurrentDictionary<string, int> counts = new();
    readonly ConcurrentBag<TcpClient> clients = [];
    readonly Task loop;

    public LoopbackHttpServer()
    {
        listener.Start();
        loop = Task.Run(AcceptLoop);
    }

    /// <summary>"http://127.0.0.1:PORT" (no trailing slash).</summary>
    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

    public void Route(string path, Behaviour behaviour) => routes[path] = behaviour;

    public int Requests(string path) => counts.TryGetValue(path, out int n) ? n : 0;

    async Task AcceptLoop()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception) { return; }
            clients.Add(client);
            _ = Task.Run(() => Handle(client));
        }
    }

    async Task Handle(TcpClient client)
    {
        try
        {
            using (client)
            {
                var stream = client.GetStream();
                string path = await ReadRequestPath(stream);
                counts.AddOrUpdate(path, 1, (_, n) => n + 1);
                var behaviour = routes.TryGetValue(path, out var b) ? b : new Status(404, "Not Found");
                switch (behaviour)
                {
                    case Serve s:
                        await Write(stream, Head(200, "OK", s.Body.Length));
                        await stream.WriteAsync(s.Body, stop.Token);
                        break;
                    case Status s:
                        await Write(stream, Head(s.Code, s.Reason, 0));
                        break;
                    case Truncate t:
                        await Write(stream, Head(200, "OK", t.Body.Length));
                        await stream.WriteAsync(t.Body.AsMemory(0, t.Sent), stop.Token);
                        break;
                    case StallBody s:
                        await Write(stream, Head(200, "OK", s.Body.Length));
                        await stream.WriteAsync(s.Body.AsMemory(0, s.Sent), stop.Token);
                        await stream.FlushAsync(stop.Token);
                        await Task.Delay(Timeout.Infinite, stop.Token);
                        break;
                    case StallHeaders:
                        await Task.Delay(Timeout.Infinite, stop.Token);
                        break;
                }
                await stream.FlushAsync(stop.Token);
            }
        }
        catch (Exception) { /* the client went away, or the server stopped */ }
    }

    static string Head(int code, string reason, long length) =>
        $"HTTP/1.1 {code} {reason}\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";

    Task Write(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text), stop.Token).AsTask();

    async Task<string> ReadRequestPath(NetworkStream stream)
    {
        var header = new StringBuilder();
        var one = new byte[1];
        while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, stop.Token) == 0) break;
            header.Append((char)one[0]);
            if (header.Length > 16_384) break;
        }
        var requestLine = header.ToString().Split("\r\n")[0].Split(' ');
        return requestLine.Length >= 2 ? requestLine[1] : "";
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        foreach (var c in clients) c.Dispose();
        try { loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        stop.Dispose();
    }
}
