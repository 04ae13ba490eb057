namespace Repro.Models.Tflite;

// The TensorFlow Lite schema's enums (tensorflow/lite/schema/schema.fbs), with the numeric values
// the file stores. Only what the importer reads or names in its messages is listed; other values
// still round-trip as numbers and are reported as such.

/// <summary>BuiltinOperator: the operator an OperatorCode names.</summary>
internal enum TfliteOperatorCode
{
    ADD = 0,
    AVERAGE_POOL_2D = 1,
    CONCATENATION = 2,
    CONV_2D = 3,
    DEPTHWISE_CONV_2D = 4,
    DEQUANTIZE = 6,
    FULLY_CONNECTED = 9,
    LOGISTIC = 14,
    MAX_POOL_2D = 17,
    MUL = 18,
    RELU = 19,
    RELU6 = 21,
    RESHAPE = 22,
    SOFTMAX = 25,
    CUSTOM = 32,
    PAD = 34,
    MEAN = 40,
    SUB = 41,
    SQUEEZE = 43,
    QUANTIZE = 114,
    HARD_SWISH = 117,
}

/// <summary>TensorType: the element type of a tensor's buffer.</summary>
internal enum TfliteTensorType : sbyte
{
    FLOAT32 = 0,
    FLOAT16 = 1,
    INT32 = 2,
    UINT8 = 3,
    INT64 = 4,
    STRING = 5,
    BOOL = 6,
    INT16 = 7,
    COMPLEX64 = 8,
    INT8 = 9,
}

/// <summary>Padding: SAME pads so that output = ceil(input / stride) (TensorFlow's asymmetric rule); VALID does not pad.</summary>
internal enum TflitePadding : sbyte
{
    SAME = 0,
    VALID = 1,
}

/// <summary>ActivationFunctionType: the activation fused into an operator's output.</summary>
internal enum TfliteActivation : sbyte
{
    NONE = 0,
    RELU = 1,
    RELU_N1_TO_1 = 2,
    RELU6 = 3,
    TANH = 4,
    SIGN_BIT = 5,
}

/// <summary>Names for messages: the schema's name when known, else the number.</summary>
internal static class TfliteNames
{
    public static string Of(TfliteOperatorCode code) =>
        Enum.IsDefined(code) ? code.ToString() : $"builtin operator code {(int)code}";

    public static string Of(TfliteTensorType type) =>
        Enum.IsDefined(type) ? type.ToString() : $"tensor type {(int)type}";
}
