using Repro.Application;
using Repro.Attacks;
using Repro.Data;
using Repro.Runtime;
using TorchSharp;

namespace Repro.Cli;

/// <summary>
/// The one policy every command applies to its arguments and environment, before any model is
/// loaded or any work is done (README: exit codes and output). Each check names the option and
/// throws <see cref="ReproInputException"/> (exit 2); a machine that cannot do what is asked
/// throws <see cref="ReproEnvironmentException"/> (exit 4).
/// <list type="bullet">
/// <item>Bounds that protect the machine: <c>--threads</c> at most the cores (<see cref="Threads"/>),
/// counts within their range (<see cref="Count"/>), a batch whose images alone fit the memory (<see cref="Batch"/>).</item>
/// <item>Numbers the model's arithmetic can hold: finite, and neither overflowing nor rounding to zero in
/// float32, the narrowest type a model computes in by default (<see cref="Float32"/>, <see cref="Float32List"/>).</item>
/// <item>One output-folder policy (<see cref="OutputFolder"/>): <c>--out</c> named, not a system folder,
/// not an input folder, new or empty unless <c>--overwrite</c> (which replaces only an earlier run's
/// results), leftovers of a killed run (<c>.staging-*</c>) named and, with <c>--overwrite</c>, removed.</item>
/// <item>One image-folder policy (<see cref="ImageFolderArgument"/>): a folder, not a file; OS metadata skipped and named (<see cref="ImageFolder"/>).</item>
/// </list>
/// </summary>
internal static class CommandPolicy
{
    /// <summary>The largest thread count <c>--threads</c> accepts: the machine's logical cores.</summary>
    public static int Cores => Environment.ProcessorCount;

    /// <summary>
    /// <c>--threads</c>: 0 (libtorch's choice) up to <paramref name="cores"/>. More threads than cores only
    /// slow the work down, and a huge count spawns threads until the process limit (and makes fork fail for
    /// every user of the machine).
    /// </summary>
    /// <exception cref="ReproInputException">Negative, or more than <paramref name="cores"/>; names --threads.</exception>
    public static int Threads(int requested, int cores)
    {
        if (requested < 0 || requested > cores)
            throw new ReproInputException($"--threads must be between 0 (libtorch's choice) and {cores} (this machine's cores), got {requested}");
        return requested;
    }

    /// <summary>The environment variables through which libtorch's OpenMP and MKL take a thread count.</summary>
    public static readonly string[] ThreadVariables = ["OMP_NUM_THREADS", "MKL_NUM_THREADS"];

    /// <summary>
    /// The thread counts the environment gives libtorch (<see cref="ThreadVariables"/>; OpenMP's first
    /// level of a comma-separated list): at most <paramref name="cores"/>, as <c>--threads</c>.
    /// </summary>
    /// <param name="variable">Reads an environment variable (the process's own in the commands).</param>
    /// <param name="cores">The machine's cores.</param>
    /// <exception cref="ReproInputException">A count that is not a positive number or exceeds the cores; names the variable.</exception>
    public static void ThreadEnvironment(Func<string, string?> variable, int cores)
    {
        foreach (var name in ThreadVariables)
        {
            string? text = variable(name);
            if (string.IsNullOrWhiteSpace(text)) continue;
            string first = text.Split(',')[0].Trim();
            if (!int.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count) || count < 1 || count > cores)
                throw new ReproInputException($"{name}={text}: must be a thread count between 1 and {cores} (this machine's cores); unset it or use --threads");
        }
    }

    /// <summary>An integer option within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <exception cref="ReproInputException">Outside the range; names the option.</exception>
    public static int Count(string option, int value, int min, int max = int.MaxValue)
    {
        if (value < min || value > max)
            throw new ReproInputException(max == int.MaxValue
                ? $"{option} must be >= {min}, got {value}"
                : $"{option} must be between {min} and {max}, got {value}");
        return value;
    }

    /// <summary>
    /// A batch size: >= 1, and its float32 images alone (<paramref name="valuesPerItem"/> numbers each)
    /// fit in <paramref name="memoryBytes"/> (default: <see cref="MemoryBytes"/>). The model's activations
    /// take several times more, so this bounds only what can never work.
    /// </summary>
    /// <exception cref="ReproInputException">Below 1, or too large for the memory; names the option.</exception>
    public static int Batch(string option, int value, long valuesPerItem, long? memoryBytes = null)
    {
        Count(option, value, 1);
        long memory = memoryBytes ?? MemoryBytes();
        double needed = (double)value * valuesPerItem * sizeof(float);
        if (needed > memory)
            throw new ReproInputException($"{option} {value} needs {needed / (1 << 30):F1} GiB for the images alone, more than the {memory / (double)(1 << 30):F1} GiB " +
                                          "of memory this process may use: choose a smaller batch");
        return value;
    }

    /// <summary>The memory this process may use: the runtime's view (physical memory or the container's limit), lowered to the address-space limit (ulimit -v) when one is set.</summary>
    public static long MemoryBytes()
    {
        long memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (ResourceLimits.AddressSpaceBytes() is long limit) memory = Math.Min(memory, limit);
        return memory;
    }

    /// <summary>
    /// A number the model's float32 arithmetic can hold: parsed strictly (<see cref="NumberArgument"/>),
    /// > 0 (or >= 0 with <paramref name="allowZero"/>), finite unless <paramref name="allowInfinity"/>
    /// (written inf), and neither too large nor so small that float32 rounds it to 0.
    /// </summary>
    /// <exception cref="ReproInputException">Names the option and says which way the value is wrong.</exception>
    public static double Float32(string option, string? text, bool allowZero = false, bool allowInfinity = false)
    {
        double value = NumberArgument.Parse(option, text, allowInfinity);
        if (allowZero ? !(value >= 0) : !(value > 0))
            throw new ReproInputException($"{option} must be {(allowZero ? ">= 0" : "> 0")}, got {text}");
        if (!double.IsPositiveInfinity(value)) PgdOptions.RequireRepresentable(option, value, torch.ScalarType.Float32);
        return value;
    }

    /// <summary>A comma-separated list of <see cref="Float32"/> values (at least one; at most <paramref name="most"/>).</summary>
    /// <exception cref="ReproInputException">Empty, too long, or a value that is not usable; names the option and the value.</exception>
    public static List<double> Float32List(string option, string? text, string example, int most = 1000)
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new ReproInputException($"{option}: no value given (give values like {example})");
        if (parts.Length > most) throw new ReproInputException($"{option}: {parts.Length} values, at most {most}");
        var values = new List<double>();
        foreach (var part in parts)
        {
            try { values.Add(Float32(option, part)); }
            catch (ReproInputException e) { throw new ReproInputException($"{option}: '{part}' is not usable ({e.Message}; give values like {example})", e); }
        }
        return values;
    }

    /// <summary>
    /// An image folder argument: it exists and is a folder (a file is named as such, not "not found").
    /// </summary>
    /// <exception cref="ReproInputException">Empty, a file, or absent; names the option.</exception>
    public static string ImageFolderArgument(string option, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ReproInputException($"{option} is empty: name a folder of images");
        string full = FullPath(option, text);
        if (File.Exists(full)) throw new ReproInputException($"{option} {text} is a file, not a folder (give the folder that holds the images)");
        if (!Directory.Exists(full)) throw new ReproInputException($"{option}: folder not found: {text}");
        return full;
    }

    /// <summary>
    /// Checks <c>--out</c> against the output-folder policy and returns it, ready for the run to stage
    /// into and publish (<see cref="ExclusiveOutputFolder.Publish"/>): named (not empty), not a system
    /// folder (<see cref="SystemFolder"/>), not one of <paramref name="inputs"/> nor inside one nor holding
    /// one, its nearest existing ancestor a folder, and new or empty unless <paramref name="overwrite"/>,
    /// which replaces only entries <paramref name="isOwnResult"/> recognises. With <paramref name="overwrite"/>,
    /// the staging folders a killed run left (<c>.staging-*</c>) are removed now and named on <paramref name="log"/>.
    /// </summary>
    /// <exception cref="ReproInputException">Any of the above; names --out (or the input option).</exception>
    /// <exception cref="ReproEnvironmentException">The folder exists but cannot be read.</exception>
    public static ExclusiveOutputFolder OutputFolder(string? text, bool overwrite, Func<string, bool> isOwnResult, IEnumerable<(string Option, string? Path)>? inputs = null,
        TextWriter? log = null)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ReproInputException("--out is empty: name an output folder");
        string full = FullPath("--out", text).TrimEnd('/');
        if (full.Length == 0) full = "/";
        if (SystemFolder(full) is string system)
            throw new ReproInputException($"--out {text} is {system}: choose a folder of your own");
        foreach (var (option, path) in inputs ?? [])
        {
            if (string.IsNullOrWhiteSpace(path)) continue;
            string input = FullPath(option, path).TrimEnd('/');
            if (input == full) throw new ReproInputException($"--out {text} is the {option} folder: choose another output folder");
            if (full.StartsWith(input + "/", StringComparison.Ordinal))
                throw new ReproInputException($"--out {text} is inside the {option} folder {path}: choose a folder outside it");
            if (input.StartsWith(full + "/", StringComparison.Ordinal))
                throw new ReproInputException($"--out {text} holds the {option} folder {path}: choose another output folder");
        }
        for (string? p = full; !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p)) throw new ReproInputException(p == full ? $"--out {text} is a file, not a folder" : $"--out {text} cannot be created: {p} is a file");
            if (Directory.Exists(p)) break;
        }
        var output = ExclusiveOutputFolder.Prepare(full, overwrite, name => isOwnResult(name) || IsStaging(name), "--out", "--overwrite");
        if (overwrite)
        {
            foreach (var stale in Directory.Exists(full) ? Directory.GetDirectories(full, ".staging-*") : [])
            {
                try
                {
                    Directory.Delete(stale, recursive: true);
                    log?.WriteLine($"repro: note: removed {Path.GetFileName(stale)}/ in --out, left by a run that was stopped");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ReproEnvironmentException($"--out {full}: cannot remove {Path.GetFileName(stale)}/ left by a stopped run ({e.Message})", e);
                }
            }
        }
        return output;
    }

    /// <summary>The files <c>robustness</c> writes into --out (what <c>--overwrite</c> may replace there).</summary>
    public static bool IsRobustnessResult(string name) => name is "robustness.tsv" or "robustness.png" or "robustness.html" or "records.parquet" or "manifest.json" or ".repro-parts/";

    /// <summary>
    /// <c>robustness</c>'s folders, checked before any model loads: --images (when given) a folder, its OS metadata
    /// (<c>__MACOSX/</c>, <c>cat/._0001.jpg</c>) named on <paramref name="log"/> (the reader skips it), and --out under
    /// <see cref="OutputFolder"/>.
    /// </summary>
    public static (string? Images, ExclusiveOutputFolder Output) Robustness(string? images, string? output, bool overwrite, TextWriter log)
    {
        string? folder = images is null ? null : ImageFolderArgument("--images", images);
        var prepared = OutputFolder(output, overwrite, IsRobustnessResult, [("--images", folder)], log);
        if (folder is not null && ImageFolder.ClassFolderMetadata(folder) is { Count: > 0 } skipped) log.WriteLine($"repro: {ImageFolder.Summary(skipped)}");
        return (folder, prepared);
    }

    /// <summary>Whether an output-folder entry (folders end with '/') is a staging folder a run left when it was killed.</summary>
    public static bool IsStaging(string name) => name.StartsWith(".staging-", StringComparison.Ordinal) && name.EndsWith('/');

    static readonly string[] SystemTrees = ["/proc", "/sys", "/dev", "/boot", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
        "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/include", "/usr/share", "/run", "/var/lib", "/var/run", "/snap"];
    static readonly string[] SystemFolders = ["/", "/usr", "/usr/local", "/var", "/home", "/root", "/tmp", "/var/tmp", "/opt", "/mnt", "/media", "/srv"];

    /// <summary>
    /// Why a full path is no place for results, or null: the root and the top folders the system and
    /// every user share (/, /usr, /home, /tmp...), and anything inside the system's own trees (/proc,
    /// /sys, /dev, /etc, /boot, /bin, /lib...). On Windows, a drive's root and the Windows folder.
    /// </summary>
    public static string? SystemFolder(string full)
    {
        if (OperatingSystem.IsWindows())
        {
            string root = Path.GetPathRoot(full) ?? "";
            if (full.TrimEnd('\\', '/').Length <= root.TrimEnd('\\', '/').Length) return "a drive's root folder";
            string windows = Environment.GetFolderPath(Environment.SpecialFolder.Windows);
            return windows.Length > 0 && full.StartsWith(windows, StringComparison.OrdinalIgnoreCase) ? "a system folder" : null;
        }
        string path = full.Length > 1 ? full.TrimEnd('/') : full;
        if (path == "/") return "the root folder";
        if (SystemFolders.Contains(path)) return $"the shared system folder {path}";
        if (SystemTrees.FirstOrDefault(t => path == t || path.StartsWith(t + "/", StringComparison.Ordinal)) is string tree)
            return path == tree ? $"the system folder {tree}" : $"inside the system folder {tree}";
        return null;
    }

    static string FullPath(string option, string text)
    {
        try { return Path.GetFullPath(text); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ReproInputException($"{option} '{text}' is not a usable path ({e.Message})", e);
        }
    }
}
