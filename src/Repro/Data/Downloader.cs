namespace Repro.Data;

/// <summary>
/// Fetches a <see cref="VerifiedFile"/> atomically: the bytes go to a temporary file beside the
/// destination, the checksum is verified, and only then is the file renamed into place. A failed
/// or mismatched download leaves nothing behind. The byte source is injectable so that the
/// verification and atomicity are testable without a network.
/// </summary>
public sealed class Downloader(Func<VerifiedFile, CancellationToken, Task<Stream>> open)
{
    public static Downloader Http(HttpClient? client = null)
    {
        var http = client ?? new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        return new Downloader(async (file, ct) =>
        {
            var response = await http.GetAsync(file.Url, HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsStreamAsync(ct);
        });
    }

    /// <summary>Returns the verified file's path under <paramref name="root"/>, downloading it if absent.</summary>
    public async Task<string> EnsureAsync(VerifiedFile file, string root, CancellationToken ct = default)
    {
        string destination = file.PathUnder(root);
        if (File.Exists(destination))
        {
            if (file.Matches(destination)) return destination;
            throw new ReproInputException($"{destination} exists but its {file.Kind} checksum is not {file.Digest}: delete it or replace it with the file from {file.Url}");
        }

        string dir = Path.GetDirectoryName(destination)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(destination)}.{Guid.NewGuid():N}.partial");
        try
        {
            try
            {
                await using var source = await open(file, ct);
                await using var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
                await source.CopyToAsync(target, ct);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                throw new ReproInputException($"cannot download {file.Name} ({e.Message}). {file.PlacementHint(root)}", e);
            }
            if (!file.Matches(temp))
                throw new ReproInputException($"downloaded {file.Name} from {file.Url} but its {file.Kind} checksum is not {file.Digest}; nothing was kept");
            File.Move(temp, destination, overwrite: false);
            return destination;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
