namespace Repro.Models.Tflite;

// The builtin options the importer reads, one record per options table of the schema. Field
// numbers in TfliteFile follow schema.fbs; defaults are the schema's (dilation 1, others 0).

/// <summary>The options table of one operator (its builtin_options union member).</summary>
public abstract record TfliteOptions;

/// <summary>Conv2DOptions.</summary>
public sealed record TfliteConvOptions(TflitePadding Padding, int StrideH, int StrideW, int DilationH, int DilationW, TfliteActivation Activation) : TfliteOptions;

/// <summary>DepthwiseConv2DOptions: output channel c*DepthMultiplier + m reads input channel c.</summary>
public sealed record TfliteDepthwiseConvOptions(TflitePadding Padding, int StrideH, int StrideW, int DepthMultiplier, int DilationH, int DilationW, TfliteActivation Activation) : TfliteOptions;

/// <summary>Pool2DOptions (AVERAGE_POOL_2D, MAX_POOL_2D).</summary>
public sealed record TflitePoolOptions(TflitePadding Padding, int StrideH, int StrideW, int FilterH, int FilterW, TfliteActivation Activation) : TfliteOptions;

/// <summary>AddOptions.</summary>
public sealed record TfliteAddOptions(TfliteActivation Activation) : TfliteOptions;

/// <summary>ReshapeOptions (newer files give the shape as a second input tensor instead).</summary>
public sealed record TfliteReshapeOptions(int[] NewShape) : TfliteOptions;

/// <summary>SoftmaxOptions.</summary>
public sealed record TfliteSoftmaxOptions(float Beta) : TfliteOptions;
