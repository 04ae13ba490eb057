namespace Repro.Models.Tflite;

// The builtin options the importer reads, one record per options table of the schema. Field
// numbers in TfliteFile follow schema.fbs; defaults are the schema's (dilation 1, others 0).

/// <summary>The options table of one operator (its builtin_options union member).</summary>
internal abstract record TfliteOptions;

/// <summary>Conv2DOptions.</summary>
internal sealed record TfliteConvOptions(TflitePadding Padding, int StrideH, int StrideW, int DilationH, int DilationW, TfliteActivation Activation) : TfliteOptions;

/// <summary>DepthwiseConv2DOptions: output channel c*DepthMultiplier + m reads input channel c.</summary>
internal sealed record TfliteDepthwiseConvOptions(TflitePadding Padding, int StrideH, int StrideW, int DepthMultiplier, int DilationH, int DilationW, TfliteActivation Activation) : TfliteOptions;

/// <summary>Pool2DOptions (AVERAGE_POOL_2D, MAX_POOL_2D).</summary>
internal sealed record TflitePoolOptions(TflitePadding Padding, int StrideH, int StrideW, int FilterH, int FilterW, TfliteActivation Activation) : TfliteOptions;

/// <summary>AddOptions, MulOptions, SubOptions: the fused activation.</summary>
internal sealed record TfliteAddOptions(TfliteActivation Activation) : TfliteOptions;

/// <summary>FullyConnectedOptions: fused activation, weights format (only DEFAULT = 0 is read), keep_num_dims.</summary>
internal sealed record TfliteFullyConnectedOptions(TfliteActivation Activation, int WeightsFormat, bool KeepNumDims) : TfliteOptions;

/// <summary>ConcatenationOptions: the axis (TensorFlow's NHWC numbering) and the fused activation.</summary>
internal sealed record TfliteConcatenationOptions(int Axis, TfliteActivation Activation) : TfliteOptions;

/// <summary>ReducerOptions (MEAN): whether reduced axes are kept with size 1.</summary>
internal sealed record TfliteReducerOptions(bool KeepDims) : TfliteOptions;

/// <summary>SqueezeOptions: the axes to remove (empty: every size-1 axis).</summary>
internal sealed record TfliteSqueezeOptions(int[] Dims) : TfliteOptions;

/// <summary>ReshapeOptions (newer files give the shape as a second input tensor instead).</summary>
internal sealed record TfliteReshapeOptions(int[] NewShape) : TfliteOptions;

/// <summary>SoftmaxOptions.</summary>
internal sealed record TfliteSoftmaxOptions(float Beta) : TfliteOptions;
