using System.Security.Cryptography;

namespace Repro.Data.Assets;

/// <summary>Which digest a publisher gives for a file, and how much of it.</summary>
internal enum DigestKind
{
    /// <summary>The whole MD5, as CIFAR-10's page gives it.</summary>
    Md5,
    /// <summary>The whole sha256.</summary>
    Sha256,
    /// <summary>The first hex digits of the sha256, as torchvision names and checks its weight files.</summary>
    Sha256Prefix,
    /// <summary>
    /// No checksum can be known offline: the sha256 of the first download is recorded beside the
    /// asset (<see cref="AssetRecord"/>), printed and shown in the report, and every later download
    /// of the same asset must match it.
    /// </summary>
    TrustOnFirstUse,
}

/// <summary>A file's expected digest as its publisher gives it (or trust on first use).</summary>
internal sealed record Checksum(DigestKind Kind, string Digest)
{
    public static Checksum Md5(string hex) => new(DigestKind.Md5, hex.ToLowerInvariant());
    public static Checksum Sha256(string hex) => new(DigestKind.Sha256, hex.ToLowerInvariant());
    public static Checksum Sha256Prefix(string hex) => new(DigestKind.Sha256Prefix, hex.ToLowerInvariant());
    public static readonly Checksum TrustOnFirstUse = new(DigestKind.TrustOnFirstUse, "");

    /// <summary>False for <see cref="DigestKind.TrustOnFirstUse"/>: nothing to check until a first download is recorded.</summary>
    public bool IsKnown => Kind != DigestKind.TrustOnFirstUse;

    /// <summary>Whether the file's digests (<see cref="FileDigests.Of(string)"/>) match; always true for trust on first use.</summary>
    public bool Matches(FileDigests digests) => Kind switch
    {
        DigestKind.Md5 => digests.Md5 == Digest,
        DigestKind.Sha256 => digests.Sha256 == Digest,
        DigestKind.Sha256Prefix => digests.Sha256.StartsWith(Digest, StringComparison.Ordinal),
        _ => true,
    };

    /// <summary>The digest of the same kind as this checksum, for messages ("its MD5 is ...").</summary>
    public string Actual(FileDigests digests) => Kind == DigestKind.Md5 ? digests.Md5 : digests.Sha256;

    public string KindName => Kind switch { DigestKind.Md5 => "MD5", DigestKind.Sha256Prefix => "sha256 prefix", _ => "sha256" };

    public override string ToString() => Kind switch
    {
        DigestKind.Md5 => $"MD5 {Digest}",
        DigestKind.Sha256 => $"sha256 {Digest}",
        DigestKind.Sha256Prefix => $"sha256 starts with {Digest}",
        _ => "no published checksum: sha256 recorded on first download",
    };
}

/// <summary>The MD5 and sha256 of one file, computed in one pass, lower-case hex.</summary>
internal sealed record FileDigests(string Md5, string Sha256, long Bytes)
{
    public static FileDigests Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Of(stream);
    }

    public static FileDigests Of(Stream stream)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            md5.AppendData(buffer, 0, n);
            sha.AppendData(buffer, 0, n);
            total += n;
        }
        return new FileDigests(Convert.ToHexStringLower(md5.GetHashAndReset()), Convert.ToHexStringLower(sha.GetHashAndReset()), total);
    }
}
