using System.Buffers.Binary;
using System.Text;

namespace Repro.Models.Tflite;

/// <summary>
/// A small FlatBuffer reader that checks every offset against the end of the file. The generated
/// FlatBuffers accessors trust the bytes; a truncated or damaged model would then fail deep inside
/// with an index exception (or read garbage). Here each read that leaves the file throws a
/// <see cref="ReproInputException"/> naming the file, what was being read and where.
/// Format reminder: a table starts with an int32 back-offset to its vtable; the vtable holds
/// uint16 sizes then one uint16 offset per field (0 = absent, take the default); references
/// (tables, vectors, strings) are uint32 forward offsets from where they are stored.
/// </summary>
internal sealed class FlatBufferReader(byte[] bytes, string source)
{
    /// <summary>The file (or other origin) named in every error.</summary>
    public string Source { get; } = source;
    public int Length => bytes.Length;

    /// <summary>The 4-byte file identifier at bytes 4..7 ("TFL3" for TensorFlow Lite), or "" if too short.</summary>
    public string FileIdentifier => bytes.Length >= 8 ? Encoding.Latin1.GetString(bytes, 4, 4) : "";

    public FlatTable Root() => TableAt(Reference(0, "root offset"), "root table");

    internal ReproInputException Outside(string what, long position, long length) =>
        new($"{Source}: truncated or corrupt TFLite file: {what} (bytes {position}..{position + length}) lies outside the file ({bytes.Length} bytes)");

    internal void Require(long position, long length, string what)
    {
        if (position < 0 || length < 0 || position + length > bytes.Length) throw Outside(what, position, length);
    }

    internal int Int32(int position, string what) { Require(position, 4, what); return BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(position)); }
    internal uint UInt32(int position, string what) { Require(position, 4, what); return BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position)); }
    internal ushort UInt16(int position, string what) { Require(position, 2, what); return BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(position)); }
    internal ulong UInt64(int position, string what) { Require(position, 8, what); return BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(position)); }
    internal long Int64(int position, string what) { Require(position, 8, what); return BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(position)); }
    internal float Float32(int position, string what) { Require(position, 4, what); return BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(position)); }
    internal byte UInt8(int position, string what) { Require(position, 1, what); return bytes[position]; }

    /// <summary>Follows the uint32 forward offset stored at <paramref name="position"/>.</summary>
    internal int Reference(int position, string what)
    {
        long target = position + (long)UInt32(position, what);
        Require(target, 4, what);
        return (int)target;
    }

    internal FlatTable TableAt(int position, string what)
    {
        long vtable = position - (long)Int32(position, what);
        ushort vtableSize = UInt16((int)Math.Clamp(vtable, int.MinValue, int.MaxValue), $"{what} vtable");
        if (vtableSize < 4 || vtableSize % 2 != 0)
            throw new ReproInputException($"{Source}: corrupt TFLite file: {what} at byte {position} has an invalid vtable size {vtableSize}");
        Require(vtable, vtableSize, $"{what} vtable");
        return new FlatTable(this, position, (int)vtable, vtableSize, what);
    }

    /// <summary>A vector's element count and the position of its first element, checked to fit in the file.</summary>
    internal (int Start, int Count) Vector(int position, int elementSize, string what)
    {
        uint count = UInt32(position, $"{what} length");
        Require(position + 4L, (long)count * elementSize, what);
        return (position + 4, (int)count);
    }

    internal ReadOnlyMemory<byte> Slice(long position, long length, string what)
    {
        Require(position, length, what);
        return bytes.AsMemory((int)position, (int)length);
    }
}

/// <summary>One table inside a <see cref="FlatBufferReader"/>: fields are addressed by their index in the schema.</summary>
internal readonly struct FlatTable
{
    readonly FlatBufferReader reader;
    readonly int position, vtable, vtableSize;

    /// <summary>What this table is ("Model.subgraphs[0].tensors[3]"), for error messages.</summary>
    public string What { get; }

    internal FlatTable(FlatBufferReader reader, int position, int vtable, int vtableSize, string what)
    {
        this.reader = reader;
        this.position = position;
        this.vtable = vtable;
        this.vtableSize = vtableSize;
        What = what;
    }

    /// <summary>Absolute position of field <paramref name="field"/>, or 0 when the field is absent (a newer field than the writer knew, or a default).</summary>
    int Field(int field)
    {
        int slot = 4 + 2 * field;
        if (slot + 2 > vtableSize) return 0;
        ushort offset = reader.UInt16(vtable + slot, $"{What} vtable");
        return offset == 0 ? 0 : position + offset;
    }

    string Name(int field) => $"{What} field {field}";

    public bool Has(int field) => Field(field) != 0;
    public sbyte Int8(int field, sbyte fallback = 0) { int p = Field(field); return p == 0 ? fallback : (sbyte)reader.UInt8(p, Name(field)); }
    public byte UInt8(int field, byte fallback = 0) { int p = Field(field); return p == 0 ? fallback : reader.UInt8(p, Name(field)); }
    public int Int32(int field, int fallback = 0) { int p = Field(field); return p == 0 ? fallback : reader.Int32(p, Name(field)); }
    public uint UInt32(int field, uint fallback = 0) { int p = Field(field); return p == 0 ? fallback : reader.UInt32(p, Name(field)); }
    public ulong UInt64(int field, ulong fallback = 0) { int p = Field(field); return p == 0 ? fallback : reader.UInt64(p, Name(field)); }
    public float Float32(int field, float fallback = 0) { int p = Field(field); return p == 0 ? fallback : reader.Float32(p, Name(field)); }

    public FlatTable? Table(int field)
    {
        int p = Field(field);
        return p == 0 ? null : reader.TableAt(reader.Reference(p, Name(field)), Name(field));
    }

    /// <summary>A vector of tables; each element is a uint32 offset relative to the element itself.</summary>
    public FlatTable[] Tables(int field, string elementName)
    {
        int p = Field(field);
        if (p == 0) return [];
        var (start, count) = reader.Vector(reader.Reference(p, Name(field)), 4, $"{What}.{elementName}");
        var tables = new FlatTable[count];
        for (int i = 0; i < count; i++)
        {
            string what = $"{What}.{elementName}[{i}]";
            tables[i] = reader.TableAt(reader.Reference(start + 4 * i, what), what);
        }
        return tables;
    }

    public int[] Int32s(int field) { var r = reader; return Scalars(field, 4, (p, what) => r.Int32(p, what)); }
    public long[] Int64s(int field) { var r = reader; return Scalars(field, 8, (p, what) => r.Int64(p, what)); }
    public float[] Float32s(int field) { var r = reader; return Scalars(field, 4, (p, what) => r.Float32(p, what)); }

    /// <summary>A [ubyte] vector as a view into the file (weights are not copied until dequantised).</summary>
    public ReadOnlyMemory<byte> Bytes(int field)
    {
        int p = Field(field);
        if (p == 0) return ReadOnlyMemory<byte>.Empty;
        var (start, count) = reader.Vector(reader.Reference(p, Name(field)), 1, Name(field));
        return reader.Slice(start, count, Name(field));
    }

    public string? String(int field)
    {
        var data = Bytes(field);
        return Has(field) ? Encoding.UTF8.GetString(data.Span) : null;
    }

    T[] Scalars<T>(int field, int size, Func<int, string, T> read)
    {
        int p = Field(field);
        if (p == 0) return [];
        var (start, count) = reader.Vector(reader.Reference(p, Name(field)), size, Name(field));
        var values = new T[count];
        for (int i = 0; i < count; i++) values[i] = read(start + size * i, Name(field));
        return values;
    }
}
