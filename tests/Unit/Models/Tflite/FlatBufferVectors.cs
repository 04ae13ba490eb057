using Google.FlatBuffers;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>FlatBuffers vectors of scalars and of table offsets, written back to front as FlatBufferBuilder requires (shared by the test writers of TFLite files).</summary>
internal static class FlatBufferVectors
{
    public static VectorOffset Bytes(FlatBufferBuilder b, byte[] values)
    {
        b.StartVector(1, values.Length, 16);
        for (int i = values.Length - 1; i >= 0; i--) b.AddByte(values[i]);
        return b.EndVector();
    }

    public static VectorOffset Ints(FlatBufferBuilder b, int[] values)
    {
        b.StartVector(4, values.Length, 4);
        for (int i = values.Length - 1; i >= 0; i--) b.AddInt(values[i]);
        return b.EndVector();
    }

    public static VectorOffset Longs(FlatBufferBuilder b, long[] values)
    {
        b.StartVector(8, values.Length, 8);
        for (int i = values.Length - 1; i >= 0; i--) b.AddLong(values[i]);
        return b.EndVector();
    }

    public static VectorOffset Floats(FlatBufferBuilder b, float[] values)
    {
        b.StartVector(4, values.Length, 4);
        for (int i = values.Length - 1; i >= 0; i--) b.AddFloat(values[i]);
        return b.EndVector();
    }

    public static VectorOffset Offsets(FlatBufferBuilder b, int[] tables)
    {
        b.StartVector(4, tables.Length, 4);
        for (int i = tables.Length - 1; i >= 0; i--) b.AddOffset(tables[i]);
        return b.EndVector();
    }
}
