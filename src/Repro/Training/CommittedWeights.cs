using System.Reflection;
using System.Security.Cryptography;
using Repro.Data;

namespace Repro.Training;

/// <summary>
/// The committed CIFAR weights (the repository's <c>data/weights/</c>: <c>smallresnet-{recipe}.pt</c>,
/// <c>.pt.sha256</c>, <c>.json</c>) ship inside this assembly as resources (<c>Repro.Weights.*</c>,
/// see Repro.csproj), so a dotnet tool or a library consumer finds them without the repository. On
/// first use they are written, under temporary names renamed into place, to a folder of the per-user
/// cache named after their content (<c>$REPRO_CACHE/committed-weights/{hash}/</c>), where the usual
/// checks (sha256 file, recipe hash in the manifest) read them as files. A retrained
/// <c>train --commit</c> rewrites <c>data/weights/</c> (<see cref="RepositoryFolder"/>); the next build
/// embeds the new files.
/// </summary>
internal static class CommittedWeights
{
    const string Prefix = "Repro.Weights.";
    static readonly Lazy<string> _folder = new(Materialise);

    /// <summary>The folder holding the embedded files (created on first use).</summary>
    public static string Folder => _folder.Value;

    /// <summary>Where <c>train --commit</c> writes: <c>data/weights/</c> of the repository this runs from.</summary>
    public static string RepositoryFolder => Path.Combine(ReproPaths.RepositoryRoot(), "data", "weights");

    /// <summary>The names of the embedded files (e.g. <c>smallresnet-robust.pt</c>), sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(CommittedWeights).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).Order(StringComparer.Ordinal).ToArray();

    static string Materialise()
    {
        var assembly = typeof(CommittedWeights).Assembly;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var digests = new Dictionary<string, byte[]>();
        foreach (string name in Names)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\n"));
            using var stream = Open(assembly, name);
            digests[name] = SHA256.HashData(stream);
            hash.AppendData(digests[name]);
        }
        string key = Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
        string folder = Path.Combine(ReproPaths.CacheRoot(), "committed-weights", key);
        try
        {
            Write(assembly, folder, digests);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only cache must not cost the user the shipped models: a private temporary copy instead.
            string temp = Path.Combine(Path.GetTempPath(), $"repro-committed-weights-{key}-{Guid.NewGuid():N}");
            Console.Error.WriteLine($"WARNING: cannot write the committed weights to {folder} ({e.Message}); using {temp}");
            Write(assembly, temp, digests);
            folder = temp;
        }
        return folder;
    }

    /// <summary>
    /// Makes every file in <paramref name="folder"/> byte-identical to the embedded one: a file already there
    /// is kept only when its sha256 is the embedded file's, so a damaged copy, or one another user of a shared
    /// cache changed (with its .sha256 beside it), is replaced rather than trusted or retrained around.
    /// </summary>
    internal static void Write(string folder) => Write(typeof(CommittedWeights).Assembly, folder,
        Names.ToDictionary(n => n, n => { using var stream = Open(typeof(CommittedWeights).Assembly, n); return SHA256.HashData(stream); }));

    static void Write(Assembly assembly, string folder, Dictionary<string, byte[]> digests)
    {
        Directory.CreateDirectory(folder);
        foreach (string name in Names)
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path))
            {
                using var existing = File.OpenRead(path);
                if (SHA256.HashData(existing).AsSpan().SequenceEqual(digests[name])) continue;
            }
            string temp = path + $".{Guid.NewGuid():N}.tmp";
            try
            {
                using (var source = Open(assembly, name))
                using (var target = File.Create(temp))
                    source.CopyTo(target);
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }
    }

    static Stream Open(Assembly assembly, string name) =>
        assembly.GetManifestResourceStream(Prefix + name) ?? throw new InvalidOperationException($"resource {Prefix + name} missing from {assembly.GetName().Name}");
}
