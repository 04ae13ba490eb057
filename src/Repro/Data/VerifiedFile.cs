using System.Security.Cryptography;

namespace Repro.Data;

/// <summary>Which digest a publisher gives for a file, and how much of it.</summary>
public enum DigestKind { Md5, Sha256, Sha256Prefix }

/// <summary>
/// A file its publisher distributes with a checksum: where it comes from, where it goes under a
/// root, and how to verify it. torchvision names weight files with the first hex digits of their
/// sha256 (<see cref="DigestKind.Sha256Prefix"/>) and checks that prefix; CIFAR-10 publishes an MD5.
/// </summary>
public sealed record VerifiedFile(string Name, string Url, string RelativePath, DigestKind Kind, string Digest)
{
    public string PathUnder(string root) => Path.Combine(root, RelativePath);

    public bool Matches(string path)
    {
        using var stream = File.OpenRead(path);
        return Matches(stream);
    }

    public bool Matches(Stream content) => Check(ComputeDigest(content));

    string ComputeDigest(Stream content) => Kind == DigestKind.Md5
        ? Convert.ToHexStringLower(MD5.HashData(content))
        : Convert.ToHexStringLower(SHA256.HashData(content));

    bool Check(string hex) => Kind == DigestKind.Sha256Prefix
        ? hex.StartsWith(Digest, StringComparison.OrdinalIgnoreCase)
        : string.Equals(hex, Digest, StringComparison.OrdinalIgnoreCase);

    /// <summary>What to tell a user on a machine that cannot download the file.</summary>
    public string PlacementHint(string root) =>
        $"{Name} is not present: download {Url} ({Kind} {Digest}) and place it at {PathUnder(root)}";
}

/// <summary>The files Repro knows how to fetch, with their publishers' checksums.</summary>
public static class KnownFiles
{
    public static readonly VerifiedFile Cifar10Binary = new(
        "CIFAR-10 (binary version)", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        "cifar-10-binary.tar.gz", DigestKind.Md5, "c32a1d4ab5d03f1284b67883e8d87530");

    public static readonly VerifiedFile ResNet18 = new(
        "torchvision ResNet18 ImageNet weights (IMAGENET1K_V1)", "https://download.pytorch.org/models/resnet18-f37072fd.pth",
        "resnet18-f37072fd.pth", DigestKind.Sha256Prefix, "f37072fd");

    public static readonly VerifiedFile ResNet50 = new(
        "torchvision ResNet50 ImageNet weights (IMAGENET1K_V1)", "https://download.pytorch.org/models/resnet50-0676ba61.pth",
        "resnet50-0676ba61.pth", DigestKind.Sha256Prefix, "0676ba61");
}
