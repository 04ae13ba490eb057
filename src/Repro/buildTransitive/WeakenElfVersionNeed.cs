using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Marks one symbol-version requirement (an entry of .gnu.version_r) weak in an ELF64
// little-endian shared library, so the loader only warns instead of refusing to load.
// Compiled by RoslynCodeTaskFactory against netstandard2.0, hence no spans. Used by Repro.targets beside this file; see the comment there for why.
public class WeakenElfVersionNeed : Task
{
    [Required] public string Library { get; set; } = "";
    [Required] public string Version { get; set; } = "";
    /// <summary>libstdc++ files to look in first ("a;b"): when one provides <see cref="Version"/>, nothing is changed. Empty: always mark.</summary>
    public string SystemLibraries { get; set; } = "";

    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    public override bool Execute()
    {
        foreach (var candidate in (SystemLibraries ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(candidate) && Contains(File.ReadAllBytes(candidate), Encoding.ASCII.GetBytes(Version + "\0")))
            {
                Log.LogMessage(MessageImportance.Low, $"{candidate} provides {Version}; {Library} left as it is.");
                return true;
            }
        }

        byte[] elf = File.ReadAllBytes(Library);
        int changed;
        try { changed = Weaken(elf, Version); }
        catch (Exception e) { Log.LogError($"{Library}: cannot patch its version needs: {e.Message}"); return false; }

        if (changed == 0) return true; // already weak, or no such need
        string temp = Library + ".weak.tmp";
        DateTime stamp = File.GetLastWriteTimeUtc(Library);
        File.WriteAllBytes(temp, elf);
        File.SetLastWriteTimeUtc(temp, stamp); // same stamp as the package's copy: incremental builds skip re-copying it
        File.Delete(Library); // a fresh inode: never writes through a hard link into the NuGet cache
        File.Move(temp, Library);
        Log.LogMessage(MessageImportance.High, $"Marked {Version} weak in {Library} (the loader only notes it when the system libstdc++ lacks it).");
        return true;
    }

    /// <summary>Sets VER_FLG_WEAK on every vernaux entry named <paramref name="version"/>; returns how many changed.</summary>
    public static int Weaken(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
            int offset = checked((int)BitConverter.ToUInt64(elf, sh + 0x18));
            int link = (int)BitConverter.ToUInt32(elf, sh + 0x28);
            int count = (int)BitConverter.ToUInt64(elf, sh + 0x38) is var info && info > 0 ? info : int.MaxValue;
            int strtab = checked((int)BitConverter.ToUInt64(elf, checked((int)shoff + link * shentsize) + 0x18));

            int need = offset;
            for (int n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, need + 2);
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    string name = ReadString(elf, strtab + (int)BitConverter.ToUInt32(elf, aux + 8));
                    ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                    if (name == version && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, aux + 4);
                        changed++;
                    }
                    uint nextAux = BitConverter.ToUInt32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                uint next = BitConverter.ToUInt32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return changed;
    }

    static string ReadString(byte[] data, int start)
    {
        int end = Array.IndexOf(data, (byte)0, start);
        return Encoding.ASCII.GetString(data, start, end - start);
    }

    static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
