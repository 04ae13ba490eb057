using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Repro.Runtime;

/// <summary>
/// The root cause of the wrong float32 convolutions measured on this machine class, and its repair.
/// <para>
/// oneDNN 3.7 (inside libtorch 2.10) sizes its convolution blocking from the CPU's cache sizes, which
/// its bundled Xbyak 7.05 reads on AMD from CPUID leaf 0x8000001D, computing each size as
/// (ways+1)·(partitions+1)·(line+1)·(sets+1) without checking that the leaf describes a cache. A
/// hypervisor that zeroes that leaf (Firecracker here, on an AMD EPYC Zen 5: leaves 4 and 0x8000001D read
/// all zero while the legacy leaves 0x80000005/6 report 48 KB L1 and 1 MB L2) thus makes oneDNN believe
/// L1 = L2 = L3 = 1 byte; with that, several AVX-512 and AVX2 convolution kernels (brgconv_1x1,
/// jit:avx512_core forward and backward-data, jit:avx2 backward-data) leave parts of their output
/// unwritten: 20-100% errors and NaN that vary between identical calls. oneDNN 3.8 and later (Xbyak
/// 7.2x) stop at a cache type of 0, report no cache levels, and fall back to oneDNN's own defaults
/// (32 KB, 512 KB, 1 MB per core).
/// </para>
/// <para>
/// The repair does exactly that to the running oneDNN: it makes oneDNN construct its CPU description
/// (one tiny convolution), finds that object in libtorch_cpu's writable memory by its exact expected
/// content — the cache sizes Xbyak computed from the zeroed leaf, three levels, and the CPU family,
/// model and stepping this process reads from CPUID itself, a unique match required — and sets its
/// number of cache levels to 0. Nothing is written when the leaf is sane, when the CPU is not AMD, off
/// Linux x64, or when the object is not found exactly once; <see cref="Outcome"/> says which.
/// It must run before any other oneDNN primitive is created: primitives are cached per shape, with
/// the blocking chosen at creation.
/// </para>
/// </summary>
internal static class OneDnnCacheRepair
{
    /// <summary>What the CPU reports about its caches, read with CPUID in this process.</summary>
    public sealed record CacheLeaves(bool Amd, bool ExtendedCacheLeafZeroed, uint L1Kb, uint L2Kb, uint L3Kb, uint FamilyWord)
    {
        /// <summary>True where oneDNN 3.7's Xbyak derives 1-byte caches: an AMD CPU whose leaf 0x8000001D is present but zeroed.</summary>
        public bool Affected => Amd && ExtendedCacheLeafZeroed;

        public string Describe() => !Amd ? "not an AMD CPU (oneDNN reads Intel caches from leaf 4)"
            : ExtendedCacheLeafZeroed ? $"AMD CPU whose CPUID cache leaf 0x8000001D reads zero (the legacy leaves report L1d {L1Kb} KB, L2 {L2Kb} KB, L3 {L3Kb / 1024} MB)"
            : "AMD CPU with a populated CPUID cache leaf 0x8000001D";
    }

    /// <summary>The result of <see cref="Repair"/>, for reports.</summary>
    public enum Outcome { NotNeeded, Repaired, AlreadyUsed, NotFound, Unsupported }

    /// <summary>Reads the CPU's cache leaves (null off x86).</summary>
    public static CacheLeaves? ReadCacheLeaves()
    {
        if (!X86Base.IsSupported) return null;
        var vendor = X86Base.CpuId(0, 0);
        bool amd = vendor.Ebx == 0x68747541 && vendor.Edx == 0x69746e65 && vendor.Ecx == 0x444d4163; // "AuthenticAMD"
        uint maxExtended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        bool zeroed = false;
        if (maxExtended >= 0x8000001D)
        {
            var l1 = X86Base.CpuId(unchecked((int)0x8000001D), 0);
            zeroed = (l1.Eax & 0x1F) == 0; // cache type 0: "no more caches" on the very first sub-leaf
        }
        uint l1Kb = 0, l2Kb = 0, l3Kb = 0;
        if (maxExtended >= 0x80000006)
        {
            l1Kb = (uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24;
            var legacy = X86Base.CpuId(unchecked((int)0x80000006), 0);
            l2Kb = (uint)legacy.Ecx >> 16;
            l3Kb = ((uint)legacy.Edx >> 18) * 512;
        }
        return new CacheLeaves(amd, zeroed, l1Kb, l2Kb, l3Kb, (uint)X86Base.CpuId(1, 0).Eax);
    }

    /// <summary>
    /// Repairs oneDNN's cache description when <paramref name="leaves"/> shows the fault. Call it before
    /// any other libtorch operation; it runs one tiny convolution itself.
    /// </summary>
    public static Outcome Repair(CacheLeaves leaves)
    {
        if (!leaves.Affected) return Outcome.NotNeeded;
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.ProcessArchitecture != Architecture.X64) return Outcome.Unsupported;
        uint[] expected = ExpectedSignature(leaves);
        // Already constructed means oneDNN already ran, and may have cached primitives made with
        // 1-byte caches: repaired all the same, but reported as late.
        var found = Find(expected);
        bool late = found.Count > 0;
        if (!late)
        {
            ConstructOneDnnCpuDescription();
            found = Find(expected);
        }
        if (found.Count != 1) return Outcome.NotFound;
        unsafe { ((uint*)found[0])[LevelsOffset] = 0; }
        return late ? Outcome.AlreadyUsed : Outcome.Repaired;
    }

    // Layout of Xbyak 7.05's Cpu after its 128-bit type mask and x2APIC flag, in 32-bit words from
    // dataCacheSize_[0]: dataCacheSize_[10], coresSharingDataCache_[10], dataCacheLevels_, avx10version_,
    // then model, family, stepping, extModel, extFamily, displayFamily, displayModel.
    const int Levels = 10, LevelsOffset = 2 * Levels, SignatureWords = 2 * Levels + 9;

    /// <summary>The 29 words oneDNN 3.7's Xbyak holds on a CPU with these leaves (0 = "any value &gt;= 1" for core counts, checked apart).</summary>
    static uint[] ExpectedSignature(CacheLeaves leaves)
    {
        var words = new uint[SignatureWords];
        for (int level = 0; level < 3; level++)
        {
            int subLeaf = level == 0 ? 0 : level + 1; // L1d, (L1i skipped), L2, L3
            var r = X86Base.CpuId(unchecked((int)0x8000001D), subLeaf);
            uint b = (uint)r.Ebx, c = (uint)r.Ecx;
            words[level] = (((b >> 22) & 0x3FF) + 1) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * (c + 1);
        }
        words[LevelsOffset] = 3;
        uint eax = leaves.FamilyWord;
        uint stepping = eax & 0xF, model = (eax >> 4) & 0xF, family = (eax >> 8) & 0xF, extModel = (eax >> 16) & 0xF, extFamily = (eax >> 20) & 0xFF;
        uint displayFamily = family == 0xF ? family + extFamily : family;
        uint displayModel = family is 6 or 0xF ? (extModel << 4) + model : model;
        uint[] identity = [model, family, stepping, extModel, extFamily, displayFamily, displayModel];
        identity.CopyTo(words, LevelsOffset + 2);
        return words;
    }

    /// <summary>Addresses in libtorch_cpu's writable memory where the CPU description with this content lies.</summary>
    static List<nint> Find(uint[] expected)
    {
        var hits = new List<nint>();
        foreach (var (start, length) in WritableSpans())
            unsafe
            {
                uint* p = (uint*)start;
                long words = length / 4;
                for (long i = 0; i + SignatureWords <= words; i++)
                {
                    if (p[i] != expected[0] || p[i + 1] != expected[1] || p[i + 2] != expected[2] || p[i + LevelsOffset] != 3) continue;
                    bool match = true;
                    for (int k = 3; k < Levels && match; k++) match = p[i + k] == 0 && p[i + Levels + k] == 0;
                    for (int k = 0; k < 3 && match; k++) match = p[i + Levels + k] is >= 1 and <= 4096;
                    for (int k = LevelsOffset + 2; k < SignatureWords && match; k++) match = p[i + k] == expected[k];
                    if (match) hits.Add((nint)(p + i));
                }
            }
        return hits;
    }

    /// <summary>libtorch_cpu's writable mappings and the anonymous mapping right after them (the rest of its .bss), merged where contiguous.</summary>
    static List<(nint Start, long Length)> WritableSpans()
    {
        var spans = new List<(nint, long)>();
        bool afterTorch = false;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var range = parts[0].Split('-');
            long start = Convert.ToInt64(range[0], 16), end = Convert.ToInt64(range[1], 16);
            bool writable = parts[1].StartsWith("rw", StringComparison.Ordinal);
            bool torch = parts.Length >= 6 && parts[5].EndsWith("/libtorch_cpu.so", StringComparison.Ordinal);
            bool anonymous = parts.Length < 6;
            if (writable && (torch || (afterTorch && anonymous)))
            {
                if (spans.Count > 0 && spans[^1].Item1 + spans[^1].Item2 == start) spans[^1] = (spans[^1].Item1, end - spans[^1].Item1);
                else spans.Add(((nint)start, end - start));
            }
            afterTorch = torch;
        }
        return spans;
    }

    /// <summary>
    /// oneDNN builds its CPU description on first use. This convolution takes the oneDNN path (batch 2,
    /// a 2x2 kernel) at a shape no model uses, so the one primitive made before the repair is never reused.
    /// </summary>
    static void ConstructOneDnnCpuDescription()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        nn.functional.conv2d(ones(2, 1, 2, 2), ones(1, 1, 2, 2)).sum().item<float>();
    }
}
