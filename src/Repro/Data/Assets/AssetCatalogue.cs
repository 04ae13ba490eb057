namespace Repro.Data.Assets;

/// <summary>
/// Every external file the article and the suite use, in one place: origin, size, checksum,
/// licence, how it unpacks and where it lands. Loaders ask here (through <see cref="AssetStore"/>) for a
/// path; nothing else in the code knows a URL. The committed CIFAR weights (<c>data/weights/</c>)
/// ship with the repository and are not assets.
/// </summary>
internal static class AssetCatalogue
{
    /// <summary>CIFAR-10's binary batches; the publisher's page gives the MD5.</summary>
    public static readonly Asset Cifar10 = new()
    {
        Name = "cifar10",
        Title = "CIFAR-10, binary version (Krizhevsky 2009)",
        Url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        FileName = "cifar-10-binary.tar.gz",
        Bytes = 170_052_171,
        Checksum = Checksum.Md5("c32a1d4ab5d03f1284b67883e8d87530"),
        Licence = "no licence stated; the publisher (www.cs.toronto.edu/~kriz/cifar.html) asks users to cite Krizhevsky 2009, 'Learning Multiple Layers of Features from Tiny Images'",
        Root = AssetRoot.Data,
        Layout = new TarGzFolderLayout("cifar-10-batches-bin", "test_batch.bin"),
        UsedBy = "claims 2 and 6 (linear models), claims 3-5 on CIFAR-10, the shortened retraining, repro train",
        Notes = "class folders cifar10/{train,test}/<class>/*.jpg|png under the data root are read instead when the binary batches are absent",
    };

    /// <summary>torchvision's ResNet18 (IMAGENET1K_V1); torchvision checks the sha256 prefix in the file name.</summary>
    public static readonly Asset ResNet18 = Torchvision("resnet18", "ResNet18", "resnet18-f37072fd.pth", 46_830_571, "f37072fd",
        "claim 1 (the article's model), claims 3 and 5 on ImageNet");

    /// <summary>torchvision's ResNet50 (IMAGENET1K_V1), also the standard counterpart of MadryLab's robust ResNet50.</summary>
    public static readonly Asset ResNet50 = Torchvision("resnet50", "ResNet50", "resnet50-0676ba61.pth", 102_530_333, "0676ba61",
        "claims 1, 3 and 5 on ImageNet; the standard model beside MadryLab's robust ResNet50");

    /// <summary>
    /// The quantised MobileNetV2 from the TensorFlow Lite hosted models. The archive's checksum is not
    /// published; the extracted .tflite is checked against known digests.
    /// </summary>
    public static readonly Asset MobileNetV2 = new()
    {
        Name = "mobilenet_v2",
        Title = "MobileNetV2 1.0 224 quantised, TensorFlow Lite hosted models (mobilenet_v2_1.0_224_quant)",
        Url = "https://storage.googleapis.com/download.tensorflow.org/models/tflite_11_05_08/mobilenet_v2_1.0_224_quant.tgz",
        FileName = "mobilenet_v2_1.0_224_quant.tgz",
        Bytes = null,
        Checksum = Checksum.TrustOnFirstUse,
        Licence = "Apache-2.0 (TensorFlow models)",
        Root = AssetRoot.Models,
        Layout = new TarGzMemberLayout("mobilenet_v2_1.0_224_quant.tflite", Path.Combine("mobilenet_v2_1.0_224_quant", "mobilenet_v2_1.0_224_quant.tflite"),
            new Dictionary<string, string>
            {
                ["7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776"] = "3,610,798 bytes, the copy in Google Coral's test data, measured here (the claims' figures come from it)",
                ["f08d447cde49b4e0446428aa921aff0a14ea589fa9c5817b31f83128e9a43c1d"] = "the archive's member as pinned by MediaPipe's build files (not downloaded here)",
            }),
        UsedBy = "claims 1, 3 and 5 on ImageNet, repro eval, repro attack (the default model that needs no PyTorch weights)",
        Notes = "the archive's sha256 is not published: it is recorded on first download (trust on first use); the .tflite inside must have one of the known sha256",
    };

    /// <summary>1,300 ILSVRC-2012 validation images (227x227) from a public demonstration subset (VeriSilicon acuity-dataset, ILSVRC2012_VAL_SET).</summary>
    public static readonly Asset ImageNetValidation = new()
    {
        Name = "imagenet-val",
        Title = "ILSVRC-2012 validation images (a public 1,300-image subset, 725 classes, 227x227)",
        Url = "https://github.com/VeriSilicon/acuity-dataset/archive/aded2e9f22cd8fe0745aa57356c68cb95457aad9.zip",
        FileName = "acuity-dataset-aded2e9f22cd8fe0745aa57356c68cb95457aad9.zip",
        Bytes = null,
        Checksum = Checksum.TrustOnFirstUse,
        Licence = "ImageNet terms of access (image-net.org: non-commercial research and educational use); the repository states no licence of its own",
        Root = AssetRoot.Data,
        Layout = new ImageNetSubsetLayout(Path.Combine("ILSVRC2012_VAL_SET", "dataset.txt").Replace('\\', '/'),
            "b25617b900f87d5dbc16464c15f6031777a287d94359d2eff0faa4c4fb34b090", 1300),
        UsedBy = "claims 1, 3 and 5 on ImageNet, the Restricted ImageNet claims, repro eval",
        Notes = "GitHub builds the archive of the pinned commit (the whole repository, somewhat over the images' 37,211,038 bytes) on request, so its sha256 is recorded on first download; every image and its class are checked against the content digest measured from that commit",
    };

    /// <summary>The MIT BCS tutorial's own bundle (Santurkar &amp; Tsipras 2020): MadryLab's robust ResNet50 for Restricted ImageNet, ImageNet and Restricted ImageNet images.</summary>
    public static readonly Asset Tutorial = new()
    {
        Name = "tutorial",
        Title = "The tutorial's bundle (MadryLab's robust ResNet50 for Restricted ImageNet, models/RestrictedImageNet.pt, and images)",
        Url = "http://people.csail.mit.edu/shibani/tutorial.zip",
        FileName = "tutorial.zip",
        Bytes = null,
        Checksum = Checksum.TrustOnFirstUse,
        Licence = "no licence stated in the bundle or the tutorial's repository (github.com/MadryLab/AdvEx_Tutorial); the checkpoint was written by MadryLab's MIT-licensed robustness library; the images fall under ImageNet's terms",
        Root = AssetRoot.Models,
        Layout = new ZipFolderLayout("tutorial", "RestrictedImageNet.pt"),
        UsedBy = "claims 3-5 on the article's own robust model (Restricted ImageNet)",
        Notes = "the URL and layout are the notebook's (wget .../tutorial.zip; unzip; models/RestrictedImageNet.pt; data/ for the robustness library's ImageNet datasets), not checked here; published over plain http with no checksum, so its sha256 is recorded on first download and printed",
    };

    public static readonly IReadOnlyList<Asset> All = [Cifar10, ResNet18, ResNet50, MobileNetV2, ImageNetValidation, Tutorial];

    public static IEnumerable<string> Names => All.Select(a => a.Name);

    /// <summary>The asset of that name, or a <see cref="ReproInputException"/> listing the known names.</summary>
    public static Asset Get(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ReproInputException($"unknown asset '{name}' (known: {string.Join(", ", Names)}, or all)");

    static Asset Torchvision(string name, string architecture, string file, long bytes, string prefix, string usedBy) => new()
    {
        Name = name,
        Title = $"torchvision {architecture}, official ImageNet weights (IMAGENET1K_V1)",
        Url = $"https://download.pytorch.org/models/{file}",
        FileName = file,
        Bytes = bytes,
        Checksum = Checksum.Sha256Prefix(prefix),
        Licence = "BSD-3-Clause (torchvision); trained on ImageNet, whose terms restrict use to non-commercial research",
        Root = AssetRoot.Models,
        Layout = new SingleFileLayout(file),
        UsedBy = usedBy,
        Notes = $"the same tensors as {name}.safetensors under the model root are read instead when present",
    };
}
