namespace Repro.Data;

/// <summary>
/// Writes a file so that readers see either the old state or the complete new file, never a part:
/// the content goes to a temporary name in the same folder, then one rename puts it in place.
/// File-system faults (full disk, no permission, read-only) become <see cref="ReproEnvironmentException"/>
/// naming the file; the temporary file is removed.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> writeContent)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReproEnvironmentException($"output folder not writable: {dir} ({e.Message})", e);
        }
        // The temporary name keeps at most 64 characters of the file's name: a file name near the
        // 255-byte limit must not fail only because its temporary name is longer.
        string name = Path.GetFileName(full);
        string temp = Path.Combine(dir, $".{(name.Length > 64 ? name[..64] : name)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                writeContent(stream);
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(temp);
            throw new ReproEnvironmentException($"output folder not writable: {dir} ({e.Message})", e);
        }
        catch (ArgumentOutOfRangeException e) when (e.TargetSite?.DeclaringType == typeof(RandomAccess))
        {
            // .NET reports EFBIG (the file system's or the process's file-size limit, ulimit -f) this way.
            TryDelete(temp);
            throw new ReproEnvironmentException($"cannot write {full}: file too large for the file system or the process's file-size limit", e);
        }
        catch (IOException e)
        {
            // A full disk, a read-only or failing file system: the machine's fault, named with the file.
            TryDelete(temp);
            throw new ReproEnvironmentException($"cannot write {full}: {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s); w.Write(text); });

    static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
