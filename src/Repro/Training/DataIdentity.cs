using System.Security.Cryptography;
using Repro.Data;
using static TorchSharp.torch;

namespace Repro.Training;

/// <summary>
/// What the training data is, as a hash: sha256 over the image tensor's float32 bytes, the labels
/// and the class names, in order. The JPEG class-folder mirror and the original binary batches
/// therefore have different identities (their pixels differ), as they should.
/// </summary>
internal static class DataIdentity
{
    public static string Of(LabelledImages data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var images = data.Images.contiguous().to_type(ScalarType.Float32))
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(images.data<float>().ToArray().AsSpan()));
        using (var labels = data.Labels.contiguous().to_type(ScalarType.Int64))
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(labels.data<long>().ToArray().AsSpan()));
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(string.Join(",", data.ClassNames)));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
