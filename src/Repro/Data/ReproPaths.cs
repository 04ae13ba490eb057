namespace Repro.Data;

/// <summary>
/// Where data and weights live. Resolution order: explicit value (a command-line option),
/// then the environment variable (REPRO_DATA / REPRO_MODELS), then folders under the repository
/// (data/ and data/models/). Nothing here knows about any particular machine's mirror.
/// </summary>
public sealed record ReproPaths(string DataRoot, string ModelRoot)
{
    public const string DataVariable = "REPRO_DATA";
    public const string ModelVariable = "REPRO_MODELS";

    public static ReproPaths Resolve(string? dataOption = null, string? modelOption = null)
    {
        string repo = RepositoryRoot();
        string data = FirstSet(dataOption, Environment.GetEnvironmentVariable(DataVariable)) ?? Path.Combine(repo, "data");
        string models = FirstSet(modelOption, Environment.GetEnvironmentVariable(ModelVariable)) ?? Path.Combine(repo, "data", "models");
        return new ReproPaths(Path.GetFullPath(data), Path.GetFullPath(models));
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
