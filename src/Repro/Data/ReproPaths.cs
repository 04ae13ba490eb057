namespace Repro.Data;

/// <summary>
/// Where data and weights live, and where missing ones are fetched to. Resolution order for each
/// root: explicit value (a command-line option), then the environment variable (REPRO_DATA /
/// REPRO_MODELS), then the per-user cache (<see cref="CacheRoot"/>: <c>data/</c> and <c>models/</c>
/// under it). The repository's own <c>data/weights/</c> (committed CIFAR weights) is found through
/// <see cref="RepositoryRoot"/>, whatever the roots are. Nothing here knows about any particular
/// machine's mirror.
/// </summary>
public sealed record ReproPaths(string DataRoot, string ModelRoot)
{
    /// <summary>Environment variable naming the data root.</summary>
    public const string DataVariable = "REPRO_DATA";
    /// <summary>Environment variable naming the model (weights) root.</summary>
    public const string ModelVariable = "REPRO_MODELS";
    /// <summary>Environment variable naming the per-user cache root (see <see cref="CacheRoot"/>).</summary>
    public const string CacheVariable = "REPRO_CACHE";

    /// <summary>
    /// Resolves each root: the option when set, else its environment variable, else <c>data/</c> or
    /// <c>models/</c> under <see cref="CacheRoot"/>; both returned as full paths. Nothing is created.
    /// </summary>
    /// <param name="dataOption">Explicit data root (e.g. a command-line option), or null.</param>
    /// <param name="modelOption">Explicit model root, or null.</param>
    public static ReproPaths Resolve(string? dataOption = null, string? modelOption = null)
    {
        string data = FirstSet(dataOption, Environment.GetEnvironmentVariable(DataVariable)) ?? Path.Combine(CacheRoot(), "data");
        string models = FirstSet(modelOption, Environment.GetEnvironmentVariable(ModelVariable)) ?? Path.Combine(CacheRoot(), "models");
        return new ReproPaths(Path.GetFullPath(data), Path.GetFullPath(models));
    }

    /// <summary>
    /// The per-user cache: <c>$REPRO_CACHE</c>, else <c>$XDG_CACHE_HOME/repro</c>, else
    /// <c>~/.cache/repro</c> (the XDG base-directory default); without a home folder that exists,
    /// <c>repro-cache-USER</c> in the temporary folder.
    /// </summary>
    public static string CacheRoot()
    {
        string? explicitRoot = FirstSet(Environment.GetEnvironmentVariable(CacheVariable));
        if (explicitRoot != null) return Path.GetFullPath(explicitRoot);
        string? xdg = FirstSet(Environment.GetEnvironmentVariable("XDG_CACHE_HOME"));
        if (xdg != null && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "repro");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        // No usable home (HOME unset or missing, as for Debian's nobody and many sandbox users): a folder named
        // after the user in the temporary folder, so that two users do not share one cache.
        if (string.IsNullOrEmpty(home) || !Directory.Exists(home)) return Path.Combine(Path.GetTempPath(), $"repro-cache-{Environment.UserName}");
        return Path.Combine(home, ".cache", "repro");
    }

    /// <summary>The folder holding Repro.sln above the running binary, else the current directory.</summary>
    public static string RepositoryRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Repro.sln"))) return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }

    static string? FirstSet(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}
