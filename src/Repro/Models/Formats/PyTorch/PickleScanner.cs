using System.Buffers.Binary;
using System.Text;

namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// Walks a pickle's opcodes without building anything (Python's <c>pickletools.genops</c>): finds
/// where the pickle ends (its STOP opcode; a legacy checkpoint is several pickles in a row) and
/// every global it names (GLOBAL, INST and STACK_GLOBAL, protocols 0-5), so that a global outside
/// the allow-list is refused before Razorvine sees the bytes. Razorvine has no hook where a global
/// is looked up, hence this pass.
///
/// STACK_GLOBAL takes its module and name from the stack; the scanner follows string pushes and
/// the memo (PUT/MEMOIZE/GET) exactly as far as needed to know them, and reports an unknowable
/// name as <see cref="ComputedName"/>, which no allow-list contains. Every length in the pickle is
/// checked against the bytes present.
/// </summary>
static class PickleScanner
{
    /// <summary>The name reported for a STACK_GLOBAL whose operands are not plain strings.</summary>
    public const string ComputedName = "<a name computed at load time>";

    /// <summary>Where a scan stopped.</summary>
    public readonly record struct Result(bool Complete, int End, IReadOnlyList<string> Globals);

    /// <summary>
    /// Scans the pickle starting at <paramref name="start"/>. Complete = false when the bytes ran
    /// out before STOP (the caller reads more of the file, or reports it truncated).
    /// </summary>
    public static Result Scan(ReadOnlySpan<byte> data, int start)
    {
        var globals = new List<string>();
        // What the scanner knows of the stack top (strings only; null = anything else) and of the memo.
        var known = new List<string?>();
        var memo = new Dictionary<long, string?>();
        int p = start;
        while (true)
        {
            if (p >= data.Length) return new(false, p, globals);
            byte op = data[p++];
            string? pushed = null;
            bool pushes = true;
            switch (op)
            {
                case (byte)'.': // STOP
                    return new(true, p, globals);
                // no argument, stack changes the scanner does not follow
                case (byte)'(':
                case (byte)'0':
                case (byte)'1':
                case (byte)'2':
                case (byte)'N':
                case (byte)'Q':
                case (byte)'R':
                case (byte)'a':
                case (byte)'b':
                case (byte)'d':
                case (byte)'}':
                case (byte)'e':
                case (byte)'l':
                case (byte)']':
                case (byte)'o':
                case (byte)'s':
                case (byte)'t':
                case (byte)')':
                case (byte)'u':
                case 0x81:
                case 0x85:
                case 0x86:
                case 0x87:
                case 0x88:
                case 0x89:
                case 0x8f:
                case 0x90:
                case 0x91:
                case 0x92:
                case 0x97:
                case 0x98:
                    break;
                // a text line argument
                case (byte)'F':
                case (byte)'I':
                case (byte)'L':
                case (byte)'P':
                case (byte)'S':
                case (byte)'V':
                    if (!Line(data, ref p, out _)) return new(false, p, globals);
                    break;
                case (byte)'g': // GET n
                    if (!Line(data, ref p, out string getIndex)) return new(false, p, globals);
                    pushed = long.TryParse(getIndex, out long g) ? memo.GetValueOrDefault(g) : null;
                    break;
                case (byte)'p': // PUT n
                    if (!Line(data, ref p, out string putIndex)) return new(false, p, globals);
                    if (long.TryParse(putIndex, out long put)) memo[put] = Top(known);
                    pushes = false;
                    break;
                case (byte)'c': // GLOBAL module\nname\n
                case (byte)'i': // INST module\nname\n
                    if (!Line(data, ref p, out string module) || !Line(data, ref p, out string name)) return new(false, p, globals);
                    globals.Add(module + "." + name);
                    break;
                case 0x93: // STACK_GLOBAL
                    {
                        string? topName = known.Count >= 1 ? known[^1] : null, topModule = known.Count >= 2 ? known[^2] : null;
                        globals.Add(topModule != null && topName != null ? topModule + "." + topName : ComputedName);
                        break;
                    }
                case 0x94: // MEMOIZE
                    memo[memo.Count] = Top(known);
                    pushes = false;
                    break;
                case (byte)'h': // BINGET
                    if (!Fixed(data, ref p, 1, out var bg)) return new(false, p, globals);
                    pushed = memo.GetValueOrDefault(bg[0]);
                    break;
                case (byte)'j': // LONG_BINGET
                    if (!Fixed(data, ref p, 4, out var lbg)) return new(false, p, globals);
                    pushed = memo.GetValueOrDefault(BinaryPrimitives.ReadInt32LittleEndian(lbg));
                    break;
                case (byte)'q': // BINPUT
                    if (!Fixed(data, ref p, 1, out var bp)) return new(false, p, globals);
                    memo[bp[0]] = Top(known);
                    pushes = false;
                    break;
                case (byte)'r': // LONG_BINPUT
                    if (!Fixed(data, ref p, 4, out var lbp)) return new(false, p, globals);
                    memo[BinaryPrimitives.ReadInt32LittleEndian(lbp)] = Top(known);
                    pushes = false;
                    break;
                case (byte)'J': // BININT
                    if (!Fixed(data, ref p, 4, out _)) return new(false, p, globals);
                    break;
                case (byte)'K': // BININT1
                    if (!Fixed(data, ref p, 1, out _)) return new(false, p, globals);
                    break;
                case (byte)'M': // BININT2
                    if (!Fixed(data, ref p, 2, out _)) return new(false, p, globals);
                    break;
                case (byte)'G': // BINFLOAT
                    if (!Fixed(data, ref p, 8, out _)) return new(false, p, globals);
                    break;
                case 0x80: // PROTO
                    if (!Fixed(data, ref p, 1, out _)) return new(false, p, globals);
                    pushes = false;
                    break;
                case 0x95: // FRAME (length is advisory)
                    if (!Fixed(data, ref p, 8, out _)) return new(false, p, globals);
                    pushes = false;
                    break;
                case 0x82:
                case 0x83:
                case 0x84: // EXT1/2/4: globals from the copyreg extension registry
                    throw new CheckpointFormatException("the pickle uses the extension registry (EXT opcodes), which names globals indirectly");
                // counted byte or text arguments
                case (byte)'U':
                case (byte)'C': // SHORT_BINSTRING, SHORT_BINBYTES
                    if (!Counted(data, ref p, 1, out _)) return new(false, p, globals);
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    if (!Counted(data, ref p, 1, out var shortText)) return new(false, p, globals);
                    pushed = Utf8(shortText);
                    break;
                case (byte)'X': // BINUNICODE
                    if (!Counted(data, ref p, 4, out var text)) return new(false, p, globals);
                    pushed = Utf8(text);
                    break;
                case 0x8d: // BINUNICODE8
                    if (!Counted(data, ref p, 8, out var longText)) return new(false, p, globals);
                    pushed = Utf8(longText);
                    break;
                case (byte)'T':
                case (byte)'B': // BINSTRING, BINBYTES
                    if (!Counted(data, ref p, 4, out _)) return new(false, p, globals);
                    break;
                case 0x8e:
                case 0x96: // BINBYTES8, BYTEARRAY8
                    if (!Counted(data, ref p, 8, out _)) return new(false, p, globals);
                    break;
                case 0x8a: // LONG1
                    if (!Counted(data, ref p, 1, out _)) return new(false, p, globals);
                    break;
                case 0x8b: // LONG4
                    if (!Counted(data, ref p, 4, out _)) return new(false, p, globals);
                    break;
                default:
                    throw new CheckpointFormatException($"byte {p - 1 - start} of a pickle is not a pickle opcode (0x{op:x2})");
            }
            if (pushes) known.Add(pushed);
        }
    }

    static string? Top(List<string?> known) => known.Count > 0 ? known[^1] : null;

    static string Utf8(ReadOnlySpan<byte> bytes)
    {
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new CheckpointFormatException("a pickle string is not valid UTF-8"); }
    }

    static bool Fixed(ReadOnlySpan<byte> data, ref int p, int count, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (data.Length - p < count) return false;
        bytes = data.Slice(p, count);
        p += count;
        return true;
    }

    /// <summary>A little-endian length of <paramref name="width"/> bytes, then that many bytes.</summary>
    static bool Counted(ReadOnlySpan<byte> data, ref int p, int width, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (!Fixed(data, ref p, width, out var prefix)) return false;
        long length = width switch
        {
            1 => prefix[0],
            4 => BinaryPrimitives.ReadInt32LittleEndian(prefix),
            _ => BinaryPrimitives.ReadInt64LittleEndian(prefix),
        };
        if (length < 0) throw new CheckpointFormatException("a pickle declares a negative length");
        if (length > data.Length - p)
        {
            // More than the bytes at hand: the caller reads more of the file if there is any, and
            // reports a truncated pickle otherwise. The length itself is never allocated.
            p = data.Length;
            return false;
        }
        bytes = data.Slice(p, (int)length);
        p += (int)length;
        return true;
    }

    /// <summary>A text argument ending in '\n' (decoded as Razorvine decodes it: UTF-8).</summary>
    static bool Line(ReadOnlySpan<byte> data, ref int p, out string line)
    {
        line = "";
        int end = data[p..].IndexOf((byte)'\n');
        if (end < 0) { p = data.Length; return false; }
        line = Encoding.UTF8.GetString(data.Slice(p, end));
        p += end + 1;
        return true;
    }
}
