using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Repro.Evaluation;

namespace Repro.Application.Jobs;

/// <summary>The evaluated model in a manifest: its name, format, the file and its SHA-256 (null for a built-in model), input size and classes.</summary>
public sealed record ManifestModel(string Name, string Format, string? File, string? Sha256, string Input, IReadOnlyList<string> Classes);

/// <summary>The evaluated data in a manifest: in words, the SHA-256 of the listing (<see cref="EvaluationImages.Identity"/>), and the number of examples of the whole listing.</summary>
public sealed record ManifestData(string Description, string Identity, int Examples, string Resize);

/// <summary>Every setting that decides the records.</summary>
public sealed record ManifestSettings(string Norm, IReadOnlyList<double> Eps, IReadOnlyList<AttackInfo> Attacks, long Seed, int Batch, int SanityExamples, int UnboundedExamples,
    string Precision = "fp32", bool ScreenThenConfirm = false);

/// <summary>Which shard: <see cref="Index"/> of <see cref="Count"/> (0-based), how it was chosen, and how many examples of the listing fall in it.</summary>
public sealed record ManifestShard(int Index, int Count, int Examples, string From);

/// <summary>
/// <c>manifest.json</c> beside <c>records.parquet</c>: the model (file and SHA-256), the data's
/// identity, every setting, the seed, Repro's version, the shard and the records file's SHA-256. Two
/// shards belong together when everything but <see cref="Shard"/> and <see cref="Files"/> is equal.
/// </summary>
public sealed record RobustnessManifest
{
    /// <summary>The file's own format name, "repro-robustness/1".</summary>
    public string Format { get; init; } = FormatName;
    /// <summary>Repro's version that wrote the records.</summary>
    public required string ReproVersion { get; init; }
    /// <summary>The model.</summary>
    public required ManifestModel Model { get; init; }
    /// <summary>The data.</summary>
    public required ManifestData Data { get; init; }
    /// <summary>The settings.</summary>
    public required ManifestSettings Settings { get; init; }
    /// <summary>The shard (a one-machine run and a merge: 0 of 1).</summary>
    public required ManifestShard Shard { get; init; }
    /// <summary>File name to SHA-256 (hex) of the files beside the manifest (records.parquet).</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    /// <summary>"repro-robustness/1".</summary>
    public const string FormatName = "repro-robustness/1";
    /// <summary>The file names: manifest.json and records.parquet.</summary>
    public const string FileName = "manifest.json", RecordsName = "records.parquet";

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The manifest as indented JSON with snake_case names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="ReproInputException">Missing, unreadable, or not a manifest of this format (named).</exception>
    public static RobustnessManifest Read(string path)
    {
        if (!System.IO.File.Exists(path)) throw new ReproInputException($"{path}: no manifest (not a robustness output folder, or an unfinished shard)");
        RobustnessManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<RobustnessManifest>(System.IO.File.ReadAllText(path), Json); }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ReproInputException($"{path}: not a readable manifest ({e.Message.ReplaceLineEndings(" ")})", e);
        }
        if (manifest is null || manifest.Format != FormatName || manifest.Model is null || manifest.Data is null || manifest.Settings is null || manifest.Shard is null)
            throw new ReproInputException($"{path}: not a {FormatName} manifest");
        return manifest;
    }

    /// <summary>The part that must be equal for two shards to belong together, as JSON, section by section (name, text).</summary>
    public IEnumerable<(string Section, string Json)> Identity()
    {
        yield return ("repro version", JsonSerializer.Serialize(ReproVersion, Json));
        yield return ("model", JsonSerializer.Serialize(Model with { Classes = [.. Model.Classes] }, Json));
        yield return ("data", JsonSerializer.Serialize(Data, Json));
        yield return ("settings", JsonSerializer.Serialize(Settings, Json));
        yield return ("shard count", Shard.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>SHA-256 (lower-case hex) of a file.</summary>
    public static string Sha256Of(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
