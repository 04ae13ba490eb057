using Google.Protobuf;
using Onnx;
using Repro.Models.Formats.Onnx;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats;

/// <summary>Initialisers in every encoding the importer reads give the same float32 values.</summary>
public class OnnxTensorsTests
{
    static readonly float[] Values = [0.5f, -1.25f, 3f, 0.1f, -0.007f, 65504f];

    static TensorProto Make(TensorProto.Types.DataType type, byte[]? raw = null, Action<TensorProto>? typed = null)
    {
        var t = new TensorProto { Name = "t", DataType = (int)type };
        t.Dims.AddRange([2, 3]);
        if (raw is not null) t.RawData = ByteString.CopyFrom(raw);
        typed?.Invoke(t);
        return t;
    }

    [Test]
    public void FloatEncodingsAgree()
    {
        float[] halfs = Values.Select(v => (float)(Half)v).ToArray();
        float[] bfloats = Values.Select(v => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & unchecked((int)0xFFFF0000))).ToArray();
        var cases = new (TensorProto Proto, float[] Expected)[]
        {
            (Make(TensorProto.Types.DataType.Float, Values.SelectMany(BitConverter.GetBytes).ToArray()), Values),
            (Make(TensorProto.Types.DataType.Float, typed: t => t.FloatData.AddRange(Values)), Values),
            (Make(TensorProto.Types.DataType.Double, Values.SelectMany(v => BitConverter.GetBytes((double)v)).ToArray()), Values),
            (Make(TensorProto.Types.DataType.Double, typed: t => t.DoubleData.AddRange(Values.Select(v => (double)v))), Values),
            (Make(TensorProto.Types.DataType.Float16, Values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray()), halfs),
            (Make(TensorProto.Types.DataType.Float16, typed: t => t.Int32Data.AddRange(Values.Select(v => (int)BitConverter.HalfToUInt16Bits((Half)v)))), halfs),
            (Make(TensorProto.Types.DataType.Bfloat16, Values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))).ToArray()), bfloats),
        };
        foreach (var (proto, expected) in cases)
        {
            using var t = OnnxTensors.ToTorch(proto, "test", "tensor", null);
            Assert.That(t.dtype, Is.EqualTo(ScalarType.Float32));
            Assert.That(t.shape, Is.EqualTo(new long[] { 2, 3 }));
            Assert.That(t.data<float>().ToArray(), Is.EqualTo(expected).Within(1e-6), $"{(TensorProto.Types.DataType)proto.DataType}, raw {proto.RawData.Length > 0}");
        }
    }

    [Test]
    public void IntegerEncodingsBecomeInt64()
    {
        long[] values = [-3, 0, 7, 100, -128, 127];
        using var fromInt32 = OnnxTensors.ToTorch(Make(TensorProto.Types.DataType.Int32, values.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray()), "test", "tensor", null);
        using var fromInt8 = OnnxTensors.ToTorch(Make(TensorProto.Types.DataType.Int8, values.Select(v => (byte)(sbyte)v).ToArray()), "test", "tensor", null);
        using var fromTyped = OnnxTensors.ToTorch(Make(TensorProto.Types.DataType.Int64, typed: t => t.Int64Data.AddRange(values)), "test", "tensor", null);
        foreach (var t in new[] { fromInt32, fromInt8, fromTyped })
        {
            Assert.That(t.dtype, Is.EqualTo(ScalarType.Int64));
            Assert.That(t.data<long>().ToArray(), Is.EqualTo(values));
        }
    }

    [Test]
    public void AShortRawBufferIsRefusedBeforeAllocation()
    {
        var error = Assert.Throws<ReproInputException>(() => OnnxTensors.ToTorch(Make(TensorProto.Types.DataType.Float, new byte[7]), "model.onnx", "initialiser 't'", null));
        Assert.That(error!.Message, Does.Contain("model.onnx").And.Contain("initialiser 't'").And.Contain("needs 24 bytes"));
    }
}
