// float32 convolutions through libtorch 2.10 (TorchSharp-cpu 0.107.0, oneDNN 3.7.1) on an AMD CPU
// whose CPUID cache leaf 0x8000001D reads zero (as under Firecracker), compared with float64.
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

var leaf = X86Base.CpuId(unchecked((int)0x8000001D), 0);
var legacy = X86Base.CpuId(unchecked((int)0x80000006), 0);
Console.WriteLine($"CPUID 0x8000001D.0: eax={leaf.Eax:x8} ebx={leaf.Ebx:x8} ecx={leaf.Ecx:x8} (cache type {leaf.Eax & 0x1F}); " +
                  $"0x80000006: L2 {(uint)legacy.Ecx >> 16} KB; threads {get_num_threads()}");

static double Error(Tensor a, Tensor b) => ((a.to_type(ScalarType.Float64) - b).abs().max() / b.abs().max()).item<double>();

void Check(string name, long[] input, long outChannels, long kernel, long stride, bool channelsLast)
{
    using var scope = NewDisposeScope();
    manual_seed(1);
    var x = rand(input) * 2 - 1;
    var w = (rand(outChannels, input[1], kernel, kernel) * 2 - 1) / Math.Sqrt(input[1] * kernel * kernel);
    Tensor Conv(Tensor i, Tensor k) => nn.functional.conv2d(i, k, strides: [stride, stride], padding: [kernel / 2, kernel / 2]);
    var x32 = (channelsLast ? x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x.clone()).requires_grad_(true);
    var y32 = Conv(x32, w);
    var upstream = rand(y32.shape) * 2 - 1;
    var g32 = autograd.grad([(y32 * upstream).sum()], [x32])[0];
    var x64 = x.to_type(ScalarType.Float64).requires_grad_(true);
    var y64 = Conv(x64, w.to_type(ScalarType.Float64));
    var g64 = autograd.grad([(y64 * upstream.to_type(ScalarType.Float64)).sum()], [x64])[0];
    Console.WriteLine($"{name,-48} forward {Error(y32, y64),8:0.0e+00}   input gradient {Error(g32, g64),8:0.0e+00}");
}

Console.WriteLine("conv2d, float32 vs float64: max |difference| / max |float64 result|");
for (int run = 0; run < 2; run++)
{
    Check("1x1 960->320, [2,960,7,7] channels-last", [2, 960, 7, 7], 320, 1, 1, channelsLast: true);
    Check("3x3 3->24, [8,3,32,32]", [8, 3, 32, 32], 24, 3, 1, channelsLast: false);
    Check("3x3 24->24, [8,24,32,32]", [8, 24, 32, 32], 24, 3, 1, channelsLast: false);
    Check("3x3 24->48 stride 2, [8,24,32,32]", [8, 24, 32, 32], 48, 3, 2, channelsLast: false);
    Check("3x3 48->96 stride 2, [8,48,16,16]", [8, 48, 16, 16], 96, 3, 2, channelsLast: false);
    Check("3x3 3->6, [4,3,8,8]", [4, 3, 8, 8], 6, 3, 1, channelsLast: false);
}

// With 1-byte caches oneDNN's backward-data for this 1x1 stride-2 convolution (ResNet50's
// layer3 downsample) divides by zero: the process dies with SIGFPE. Last, because it ends the run.
if (args.Contains("sigfpe")) Check("1x1 512->1024 stride 2, [1,512,28,28]", [1, 512, 28, 28], 1024, 1, 2, channelsLast: false);
