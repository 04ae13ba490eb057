using Google.FlatBuffers;
using static Repro.Tests.Unit.Models.Tflite.FlatBufferVectors;

namespace Repro.Tests.Unit.Models.Tflite;

/// <summary>
/// A tiny TFLite classifier written with Google's FlatBufferBuilder (an independent writer, so the
/// reader is not checked against itself), plus a naive NHWC float reference of what it computes.
/// Graph: uint8 input [1,4,4,1] -> CONV_2D 3x3 stride 2 SAME ReLU6 (2 channels, 4x4 -> 2x2)
/// -> DEPTHWISE_CONV_2D 3x3 stride 1 SAME -> ADD(conv, depthwise) ReLU -> AVERAGE_POOL_2D 2x2 VALID
/// -> CONV_2D 1x1 classifier (Classes outputs) -> RESHAPE -> SOFTMAX.
/// </summary>
public static class TinyTflite
{
    public const int Input = 0, ConvWeight = 1, ConvBias = 2, ConvOut = 3, DwWeight = 4, DwBias = 5, DwOut = 6,
        AddOut = 7, Pooled = 8, ClsWeight = 9, ClsBias = 10, ClsOut = 11, ReshapeShape = 12, Logits = 13, Probabilities = 14;

    public const float InputScale = 1f / 128; public const long InputZero = 128;
    public const float ConvWeightScale = 0.05f; public const long ConvWeightZero = 100;
    public const float ConvBiasScale = 0.001f;
    public const float DwWeightScale = 0.02f; public const long DwWeightZero = 128;
    public const float DwBiasScale = 0.002f;
    public const float ClsWeightScale = 0.01f; public const long ClsWeightZero = 128;
    public const float ClsBiasScale = 0.01f;

    // OHWI [2,3,3,1]: output channel 0 then 1, rows then columns.
    public static readonly byte[] ConvWeights = [100, 120, 80, 140, 100, 60, 110, 90, 130, 90, 100, 115, 70, 150, 100, 105, 95, 125];
    public static readonly int[] ConvBiases = [300, -500];
    // [1,3,3,2]: rows, columns, then channel.
    public static readonly byte[] DwWeights = [128, 160, 100, 128, 150, 90, 140, 128, 128, 200, 110, 128, 128, 70, 170, 128, 120, 140];
    public static readonly int[] DwBiases = [100, -50];

    public static byte[] ClsWeights(int classes) => Enumerable.Range(0, classes * 2).Select(i => (byte)((i * 37 + 11) % 256)).ToArray();
    public static int[] ClsBiases(int classes) => Enumerable.Range(0, classes).Select(i => i * 13 % 200 - 100).ToArray();

    /// <param name="poolCode">The builtin code of the pooling operator (12 = L2_POOL_2D makes the file unsupported).</param>
    public static byte[] Build(int classes = 1001, int poolCode = 1, string identifier = "TFL3")
    {
        var b = new FlatBufferBuilder(1024);

        // Buffers: 0 is the conventional empty buffer for activations.
        byte[][] data =
        [
            [], ConvWeights, Int32Bytes(ConvBiases), DwWeights, Int32Bytes(DwBiases),
            ClsWeights(classes), Int32Bytes(ClsBiases(classes)), Int32Bytes([1, classes]),
        ];
        var buffers = data.Select(d =>
        {
            VectorOffset? v = d.Length > 0 ? Bytes(b, d) : null;
            b.StartTable(3);
            if (v is VectorOffset vector) b.AddOffset(0, vector.Value, 0);
            return b.EndTable();
        }).ToArray();

        // name, shape, type (0 float32, 2 int32, 3 uint8), buffer, quantisation (scale, zero point)
        (string Name, int[] Shape, sbyte Type, uint Buffer, (float, long)? Quant)[] tensors =
        [
            ("input", [1, 4, 4, 1], 3, 0, (InputScale, InputZero)),
            ("conv/weights", [2, 3, 3, 1], 3, 1, (ConvWeightScale, ConvWeightZero)),
            ("conv/bias", [2], 2, 2, (ConvBiasScale, 0)),
            ("conv/out", [1, 2, 2, 2], 3, 0, (0.03f, 0)),
            ("dw/weights", [1, 3, 3, 2], 3, 3, (DwWeightScale, DwWeightZero)),
            ("dw/bias", [2], 2, 4, (DwBiasScale, 0)),
            ("dw/out", [1, 2, 2, 2], 3, 0, (0.05f, 128)),
            ("add/out", [1, 2, 2, 2], 3, 0, (0.05f, 0)),
            ("pool/out", [1, 1, 1, 2], 3, 0, (0.05f, 0)),
            ("classifier/weights", [classes, 1, 1, 2], 3, 5, (ClsWeightScale, ClsWeightZero)),
            ("classifier/bias", [classes], 2, 6, (ClsBiasScale, 0)),
            ("classifier/out", [1, 1, 1, classes], 3, 0, (0.1f, 100)),
            ("reshape/shape", [2], 2, 7, null),
            ("logits", [1, classes], 3, 0, (0.1f, 100)),
            ("probabilities", [1, classes], 3, 0, (1f / 256, 0)),
        ];
        var tensorTables = tensors.Select(t =>
        {
            var name = b.CreateString(t.Name);
            var shape = Ints(b, t.Shape);
            int quant = 0;
            if (t.Quant is (float scale, long zero))
            {
                var scales = Floats(b, [scale]);
                var zeros = Longs(b, [zero]);
                b.StartTable(7);
                b.AddOffset(2, scales.Value, 0);
                b.AddOffset(3, zeros.Value, 0);
                quant = b.EndTable();
            }
            b.StartTable(5);
            b.AddOffset(0, shape.Value, 0);
            b.AddSbyte(1, t.Type, 0);
            b.AddUint(2, t.Buffer, 0);
            b.AddOffset(3, name.Value, 0);
            if (quant != 0) b.AddOffset(4, quant, 0);
            return b.EndTable();
        }).ToArray();

        // Options tables (field numbers of schema.fbs).
        b.StartTable(6); b.AddSbyte(0, 0, -1); b.AddInt(1, 2, 0); b.AddInt(2, 2, 0); b.AddSbyte(3, 3, 0); int convOptions = b.EndTable(); // SAME, stride 2, RELU6
        b.StartTable(7); b.AddSbyte(0, 0, -1); b.AddInt(1, 1, 0); b.AddInt(2, 1, 0); b.AddInt(3, 1, 0); b.AddSbyte(4, 0, -1); int dwOptions = b.EndTable(); // SAME, stride 1, multiplier 1, NONE
        b.StartTable(1); b.AddSbyte(0, 1, 0); int addOptions = b.EndTable(); // RELU
        b.StartTable(6); b.AddSbyte(0, 1, 0); b.AddInt(1, 2, 0); b.AddInt(2, 2, 0); b.AddInt(3, 2, 0); b.AddInt(4, 2, 0); int poolOptions = b.EndTable(); // VALID, stride 2, 2x2
        b.StartTable(6); b.AddSbyte(0, 1, 0); b.AddInt(1, 1, 0); b.AddInt(2, 1, 0); int clsOptions = b.EndTable(); // VALID, stride 1, NONE
        var newShape = Ints(b, [1, classes]);
        b.StartTable(1); b.AddOffset(0, newShape.Value, 0); int reshapeOptions = b.EndTable();
        b.StartTable(1); b.AddFloat(0, 1f, 0); int softmaxOptions = b.EndTable();

        // (opcode index, inputs, outputs, options type, options)
        (uint Code, int[] In, int[] Out, byte Type, int Options)[] operators =
        [
            (0, [Input, ConvWeight, ConvBias], [ConvOut], 1, convOptions),
            (1, [ConvOut, DwWeight, DwBias], [DwOut], 2, dwOptions),
            (2, [ConvOut, DwOut], [AddOut], 11, addOptions),
            (3, [AddOut], [Pooled], 5, poolOptions),
            (0, [Pooled, ClsWeight, ClsBias], [ClsOut], 1, clsOptions),
            (4, [ClsOut, ReshapeShape], [Logits], 17, reshapeOptions),
            (5, [Logits], [Probabilities], 9, softmaxOptions),
        ];
        var operatorTables = operators.Select(o =>
        {
            var inputs = Ints(b, o.In);
            var outputs = Ints(b, o.Out);
            b.StartTable(5);
            b.AddUint(0, o.Code, 0);
            b.AddOffset(1, inputs.Value, 0);
            b.AddOffset(2, outputs.Value, 0);
            b.AddByte(3, o.Type, 0);
            b.AddOffset(4, o.Options, 0);
            return b.EndTable();
        }).ToArray();

        var subgraphTensors = Offsets(b, tensorTables);
        var subgraphInputs = Ints(b, [Input]);
        var subgraphOutputs = Ints(b, [Probabilities]);
        var subgraphOperators = Offsets(b, operatorTables);
        var subgraphName = b.CreateString("main");
        b.StartTable(5);
        b.AddOffset(0, subgraphTensors.Value, 0);
        b.AddOffset(1, subgraphInputs.Value, 0);
        b.AddOffset(2, subgraphOutputs.Value, 0);
        b.AddOffset(3, subgraphOperators.Value, 0);
        b.AddOffset(4, subgraphName.Value, 0);
        int subgraph = b.EndTable();

        // Operator codes: CONV_2D in the old style (only deprecated_builtin_code), the others in
        // the new style (builtin_code, with deprecated_builtin_code capped at 127).
        int[] codes = [3, 4, 0, poolCode, 22, 25];
        var codeTables = codes.Select((code, i) =>
        {
            b.StartTable(4);
            if (i == 0) b.AddSbyte(0, (sbyte)code, 0);
            else
            {
                b.AddSbyte(0, (sbyte)Math.Min(code, 127), 0);
                b.AddInt(3, code, 0);
            }
            return b.EndTable();
        }).ToArray();

        var modelCodes = Offsets(b, codeTables);
        var modelSubgraphs = Offsets(b, [subgraph]);
        var modelBuffers = Offsets(b, buffers);
        var description = b.CreateString("tiny test model");
        b.StartTable(5);
        b.AddUint(0, 3, 0);
        b.AddOffset(1, modelCodes.Value, 0);
        b.AddOffset(2, modelSubgraphs.Value, 0);
        b.AddOffset(3, description.Value, 0);
        b.AddOffset(4, modelBuffers.Value, 0);
        int model = b.EndTable();
        b.Finish(model, identifier);
        return b.SizedByteArray();
    }

    /// <summary>Writes the file under a fresh temporary folder and returns its path.</summary>
    public static string Write(byte[] bytes, string name = "tiny.tflite")
    {
        string path = Path.Combine(Repro.Tests.Unit.Support.TestData.TempFolder(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] Int32Bytes(int[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    // ---- naive float reference, NHWC, written out loop by loop ----

    /// <summary>The float logits (all Classes of them, background included) and the pooled vector, for images [N,1,4,4] in [0,1].</summary>
    public static (float[][] Logits, float[][] Pooled) Reference(float[][] images, int classes = 1001)
    {
        var logits = new float[images.Length][];
        var pooled = new float[images.Length][];
        float[] convW = ConvWeights.Select(q => (q - ConvWeightZero) * ConvWeightScale).ToArray();
        float[] convB = ConvBiases.Select(q => q * ConvBiasScale).ToArray();
        float[] dwW = DwWeights.Select(q => (q - DwWeightZero) * DwWeightScale).ToArray();
        float[] dwB = DwBiases.Select(q => q * DwBiasScale).ToArray();
        float[] clsW = ClsWeights(classes).Select(q => (q - ClsWeightZero) * ClsWeightScale).ToArray();
        float[] clsB = ClsBiases(classes).Select(q => q * ClsBiasScale).ToArray();
        for (int n = 0; n < images.Length; n++)
        {
            // The model's input: the byte 255 p dequantised with the input tensor's scale and zero point.
            float[,,] x = new float[4, 4, 1];
            for (int y = 0; y < 4; y++)
                for (int c = 0; c < 4; c++)
                    x[y, c, 0] = (255 * images[n][y * 4 + c] - InputZero) * InputScale;

            // CONV_2D 3x3 stride 2 on 4x4, SAME: output 2x2 needs (2-1)*2+3-4 = 1 row of padding,
            // which TensorFlow puts at the bottom (and the column at the right): window origin = 2*o.
            var conv = new float[2, 2, 2];
            for (int oy = 0; oy < 2; oy++)
                for (int ox = 0; ox < 2; ox++)
                    for (int o = 0; o < 2; o++)
                    {
                        float sum = convB[o];
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int iy = 2 * oy + ky, ix = 2 * ox + kx;
                                if (iy < 4 && ix < 4) sum += x[iy, ix, 0] * convW[o * 9 + ky * 3 + kx];
                            }
                        conv[oy, ox, o] = Math.Clamp(sum, 0f, 6f);
                    }

            // DEPTHWISE 3x3 stride 1 on 2x2, SAME: 2 rows of padding, one each side: origin = o - 1.
            var dw = new float[2, 2, 2];
            for (int oy = 0; oy < 2; oy++)
                for (int ox = 0; ox < 2; ox++)
                    for (int c = 0; c < 2; c++)
                    {
                        float sum = dwB[c];
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int iy = oy + ky - 1, ix = ox + kx - 1;
                                if (iy is >= 0 and < 2 && ix is >= 0 and < 2) sum += conv[iy, ix, c] * dwW[(ky * 3 + kx) * 2 + c];
                            }
                        dw[oy, ox, c] = sum;
                    }

            // ADD with ReLU, then the 2x2 average.
            pooled[n] = new float[2];
            for (int c = 0; c < 2; c++)
            {
                float sum = 0;
                for (int y = 0; y < 2; y++)
                    for (int xx = 0; xx < 2; xx++)
                        sum += Math.Max(conv[y, xx, c] + dw[y, xx, c], 0f);
                pooled[n][c] = sum / 4;
            }

            logits[n] = new float[classes];
            for (int o = 0; o < classes; o++)
                logits[n][o] = clsB[o] + pooled[n][0] * clsW[o * 2] + pooled[n][1] * clsW[o * 2 + 1];
        }
        return (logits, pooled);
    }
}
