using Repro.Data;
namespace Repro.Application;

/// <summary>
/// An output folder that, once a run publishes into it, holds that run's results and nothing else,
/// so a table never sits beside images of an earlier run it does not list. Policy (README, "Your own
/// photos"): the folder must be new or empty; overwriting replaces an earlier run's results
/// (the entries <c>isOwnResult</c> recognises) and refuses a folder holding anything else, so it can
/// never delete a user's own files. Results are staged in a hidden sub-folder and moved into place
/// only when complete (<see cref="Publish"/>).
/// </summary>
internal sealed class ExclusiveOutputFolder
{
    /// <summary>The output folder, as a full path.</summary>
    public string Folder { get; }
    readonly IReadOnlyList<string> previous;

    ExclusiveOutputFolder(string folder, IReadOnlyList<string> previous) => (Folder, this.previous) = (folder, previous);

    /// <summary>Checks the folder against the policy before any work is done.</summary>
    /// <param name="isOwnResult">Whether an entry name (files; folders end with '/') is a result this kind of run writes.</param>
    /// <exception cref="ReproInputException">The folder is a file, not empty (without <paramref name="overwrite"/>), or holds entries that are not results.</exception>
    /// <param name="folder">The output folder; made a full path.</param>
    /// <param name="overwrite">Whether an earlier run's results there may be replaced.</param>
    /// <param name="folderSetting">What the messages call the folder's setting (the caller's parameter, or a command's flag).</param>
    /// <param name="overwriteSetting">What the messages call the overwrite setting.</param>
    /// <exception cref="ReproEnvironmentException">The folder exists but cannot be read.</exception>
    public static ExclusiveOutputFolder Prepare(string folder, bool overwrite, Func<string, bool> isOwnResult, string folderSetting = "folder", string overwriteSetting = "overwrite")
    {
        folder = Path.GetFullPath(folder);
        if (File.Exists(folder)) throw new ReproInputException($"{folderSetting} {folder} is a file, not a folder");
        if (!Directory.Exists(folder)) return new ExclusiveOutputFolder(folder, []);
        string[] entries;
        try { entries = Directory.GetFileSystemEntries(folder).Order(StringComparer.Ordinal).ToArray(); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ReproEnvironmentException($"cannot read output folder {folder}: {e.Message}", e);
        }
        if (entries.Length == 0) return new ExclusiveOutputFolder(folder, []);
        string Name(string entry) => Path.GetFileName(entry) + (Directory.Exists(entry) ? "/" : "");
        string Some(IEnumerable<string> names)
        {
            var list = names.ToList();
            return string.Join(", ", list.Take(3).Select(Tsv.Escape)) + (list.Count > 3 ? $" and {list.Count - 3} more" : "");
        }
        if (!overwrite)
        {
            var leftovers = entries.Select(Name).Where(n => n.StartsWith(".staging-", StringComparison.Ordinal) && n.EndsWith('/')).ToList();
            if (leftovers.Count == entries.Length)
                throw new ReproInputException($"{folderSetting} {folder} holds {Some(leftovers)}, left by a run that was stopped before it finished: " +
                                              $"pass {overwriteSetting} to remove it, or choose another folder");
            throw new ReproInputException($"{folderSetting} {folder} is not empty ({Some(entries.Select(Name))}" +
                                          (leftovers.Count > 0 ? $"; {Some(leftovers)} was left by a stopped run" : "") + "): choose a new or empty folder, " +
                                          $"or pass {overwriteSetting} to replace an earlier run's results there");
        }
        var foreign = entries.Select(Name).Where(n => !isOwnResult(n)).ToList();
        if (foreign.Count > 0)
            throw new ReproInputException($"{folderSetting} {folder} holds files this command did not write ({Some(foreign)}); {overwriteSetting} replaces only " +
                                          "an earlier run's results: choose another folder");
        return new ExclusiveOutputFolder(folder, entries);
    }

    /// <summary>
    /// Moves every file of <paramref name="staging"/> into the folder (renames on one file system),
    /// <paramref name="last"/> after all others so that the table appears last, then removes the
    /// earlier run's entries that were not replaced.
    /// </summary>
    public void Publish(string staging, string last)
    {
        var files = Directory.GetFiles(staging).OrderBy(f => Path.GetFileName(f) == last ? 1 : 0).ThenBy(f => f, StringComparer.Ordinal).ToList();
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            string target = Path.Combine(Folder, Path.GetFileName(file));
            File.Move(file, target, overwrite: true);
            written.Add(target);
        }
        foreach (var old in previous)
        {
            if (written.Contains(old) || old == staging) continue;
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            else if (File.Exists(old)) File.Delete(old);
        }
    }
}
