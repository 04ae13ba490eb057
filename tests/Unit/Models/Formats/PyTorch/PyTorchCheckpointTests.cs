using System.Numerics;
using System.Text.Json;
using Repro.Models.Formats.PyTorch;
using Repro.Tests.Unit.Support;
using static TorchSharp.torch;

namespace Repro.Tests.Unit.Models.Formats.PyTorch;

/// <summary>
/// <see cref="PyTorchCheckpoint"/> against files PyTorch 1.13 wrote (fixtures/make_fixtures.py), in
/// both serialisations, and against crafted files it must refuse.
/// </summary>
public class PyTorchCheckpointTests
{
    static readonly Dictionary<string, ScalarType> Dtypes = new()
    {
        ["float32"] = ScalarType.Float32, ["float64"] = ScalarType.Float64, ["float16"] = ScalarType.Float16,
        ["bfloat16"] = ScalarType.BFloat16, ["int64"] = ScalarType.Int64, ["int32"] = ScalarType.Int32,
        ["int16"] = ScalarType.Int16, ["int8"] = ScalarType.Int8, ["uint8"] = ScalarType.Byte, ["bool"] = ScalarType.Bool,
        ["complex64"] = ScalarType.ComplexFloat32,
    };

    [TestCase("dtypes.pt", PyTorchSerialisation.Zip)]
    [TestCase("dtypes-legacy.pt", PyTorchSerialisation.Legacy)]
    public void EveryDtypeViewAndStrideRoundTrips(string file, PyTorchSerialisation serialisation)
    {
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf(file));
        var expected = PyTorchFixtures.Json("dtypes.json");
        Assert.That(checkpoint.Serialisation, Is.EqualTo(serialisation));
        int compared = 0;
        foreach (var entry in expected.EnumerateObject())
        {
            var t = checkpoint.Tensors["tensors/" + entry.Name];
            var e = entry.Value;
            string what = $"{file}: {entry.Name}";
            Assert.That(t.dtype, Is.EqualTo(Dtypes[e.GetProperty("dtype").GetString()!]), what);
            Assert.That(t.shape, Is.EqualTo(e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray()), what);
            Assert.That(t.stride(), Is.EqualTo(e.GetProperty("stride").EnumerateArray().Select(v => v.GetInt64()).ToArray()), what);
            Assert.That(t.storage_offset(), Is.EqualTo(e.GetProperty("offset").GetInt64()), what);
            var values = e.GetProperty("values").EnumerateArray().ToList();
            if (t.numel() == 0)
                Assert.That(values, Is.Empty, what);
            else if (t.dtype == ScalarType.ComplexFloat32)
                Assert.That(view_as_real(t).to_type(ScalarType.Float64).contiguous().data<double>().ToArray(), Is.EqualTo(values.Select(v => v.GetDouble()).ToArray()), what);
            else if (t.dtype == ScalarType.Int64)
                Assert.That(t.contiguous().data<long>().ToArray(), Is.EqualTo(values.Select(v => v.GetInt64()).ToArray()), what);
            else
                Assert.That(t.to_type(ScalarType.Float64).contiguous().data<double>().ToArray(), Is.EqualTo(values.Select(v => v.GetDouble()).ToArray()), what);
            compared++;
        }
        Assert.That(compared, Is.EqualTo(20));
    }

    [TestCase("dtypes.pt")]
    [TestCase("dtypes-legacy.pt")]
    public void ViewsOfOneStorageShareItsMemory(string file)
    {
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf(file));
        var a = checkpoint.Tensors["tensors/shared_a"];   // shared[:6].view(2, 3)
        var b = checkpoint.Tensors["tensors/shared_b"];   // shared[4:]
        var slice = checkpoint.Tensors["tensors/slice"];  // base[1:, 2:5]
        var whole = checkpoint.Tensors["tensors/base"];
        b[0] = tensor(123.0, ScalarType.Float64);          // element 4 of the storage
        whole[1, 2] = tensor(-7.0f);
        Assert.Multiple(() =>
        {
            Assert.That(a[1, 1].item<double>(), Is.EqualTo(123.0), "shared_a[1,1] is element 4 of the same storage");
            Assert.That(slice[0, 0].item<float>(), Is.EqualTo(-7.0f), "slice[0,0] is base[1,2]");
        });
    }

    [TestCase("dtypes.pt")]
    [TestCase("dtypes-legacy.pt")]
    public void PlainValuesKeepTheirPythonTypes(string file)
    {
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf(file));
        var root = (IDictionary<object, object?>)checkpoint.Root!;
        var list = (List<object?>)root["list"]!;
        Assert.Multiple(() =>
        {
            Assert.That(list.Take(6), Is.EqualTo(new object?[] { 1L, 2.5, "three", null, true, false }));
            Assert.That((object?[])list[6]!, Is.EqualTo(new object?[] { 4L, "five" }), "a tuple");
            Assert.That(root["epoch"], Is.EqualTo(90L));
            Assert.That(root["name"], Is.EqualTo("fixture"));
            Assert.That(root["big_int"], Is.EqualTo(BigInteger.Pow(2, 70)));
            Assert.That(root["bytes"], Is.EqualTo(new byte[] { 0, 255, (byte)'a', (byte)'b' }));
            Assert.That(root["set"], Is.EquivalentTo(new object[] { 3L }));
            Assert.That(checkpoint.Tensors["nested/inner/weight"], Is.SameAs(checkpoint.Tensors["tensors/float32"]), "one tensor pickled twice is one tensor");
            var tensors = (IDictionary<object, object?>)root["tensors"]!;
            Assert.That(tensors.Keys, Is.EqualTo(PyTorchFixtures.Json("dtypes.json").EnumerateObject().Select(p => p.Name)), "OrderedDict order");
            var ordered = (IDictionary<object, object?>)root["ordered"]!;   // 2,500 items: three SETITEMS batches
            Assert.That(ordered.Keys, Is.EqualTo(Enumerable.Range(0, 2500).Select(i => $"k{i}")), "OrderedDict order across pickle batches");
            Assert.That(ordered.Values, Is.EqualTo(Enumerable.Range(0, 2500).Select(i => (object)(long)i)));
        });
    }

    [TestCase("robust-resnet.pt", PyTorchSerialisation.Zip)]
    [TestCase("robust-resnet-legacy.pt", PyTorchSerialisation.Legacy)]
    public void ARobustnessCheckpointWrittenWithDillKeepsItsNestedStructure(string file, PyTorchSerialisation serialisation)
    {
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf(file));
        var root = (IDictionary<object, object?>)checkpoint.Root!;
        var stateDict = checkpoint.StateDict();
        Assert.Multiple(() =>
        {
            Assert.That(checkpoint.Serialisation, Is.EqualTo(serialisation));
            Assert.That(root.Keys, Is.EquivalentTo(new object[] { "model", "optimizer", "schedule", "epoch", "amp", "prec1" }));
            Assert.That(root["epoch"], Is.EqualTo(4L));
            Assert.That(root["amp"], Is.Null);
            Assert.That(((Tensor)root["prec1"]!).item<float>(), Is.EqualTo(12.5f));
            Assert.That(stateDict.Keys, Has.Member("module.normalizer.new_mean").And.Member("module.model.conv1.weight")
                .And.Member("module.attacker.normalize.new_std").And.Member("module.attacker.model.layer4.0.downsample.1.running_var"));
            Assert.That(stateDict["module.attacker.model.fc.weight"].eq(stateDict["module.model.fc.weight"]).all().item<bool>(), Is.True);
            Assert.That(checkpoint.Tensors["optimizer/state/0/momentum_buffer"].shape, Is.EqualTo(stateDict["module.model.conv1.weight"].shape));
            Assert.That(checkpoint.Tensors.Keys, Has.Member("model/module.model.conv1.weight"));
            var schedule = (IDictionary<object, object?>)root["schedule"]!;
            Assert.That(schedule["step_size"], Is.EqualTo(30L));
            Assert.That(schedule["gamma"], Is.EqualTo(0.1));
        });
    }

    [TestCase("robust-resnet.pt")]
    [TestCase("robust-resnet-legacy.pt")]
    public void TheAttackersCopyViewsTheSameStorageAsTheModel(string file)
    {
        // state_dict() detaches each tensor, so the attacker's copy is a second tensor over the
        // same storage (written once): one write shows through both.
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf(file));
        var stateDict = checkpoint.StateDict();
        stateDict["module.model.fc.weight"][0, 0] = tensor(42f);
        Assert.That(stateDict["module.attacker.model.fc.weight"][0, 0].item<float>(), Is.EqualTo(42f));
    }

    [TestCase("robust-resnet.pt")]
    [TestCase("robust-resnet-legacy.pt")]
    public void AStateDictKeepsPyTorchsKeyOrder(string file)
    {
        using var _ = NewDisposeScope();
        using var checkpoint = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf(file));
        var expected = PyTorchFixtures.Json("robust-resnet.json").GetProperty("keys").EnumerateArray().Select(k => k.GetString()).ToList();
        Assert.That(((IDictionary<object, object?>)((IDictionary<object, object?>)checkpoint.Root!)["model"]!).Keys, Is.EqualTo(expected));
    }

    [TestCase("refused-eval-legacy.pt", "__builtin__.eval")]
    [TestCase("refused-system.pt", "posix.system")]
    [TestCase("refused-whole-module.pt", "torch.nn.modules.linear.Linear")]
    public void AGlobalOutsideTheAllowListIsRefusedByNameWithTheFile(string file, string global)
    {
        string path = PyTorchFixtures.PathOf(file);
        var error = Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain($"'{global}'").And.Contain("nothing was executed"));
    }

    [TestCase("crafted-huge-numel.pt", "holds 16 bytes")]
    [TestCase("crafted-huge-storage-legacy.pt", "1099511627776 elements in the file")]
    [TestCase("crafted-outside-view.pt", "reaches element 1001")]
    [TestCase("crafted-deep.pt", "nested deeper than")]
    [TestCase("crafted-cycle.pt", "reference cycle")]
    [TestCase("big-endian.pt", "big-endian")]
    public void ACraftedFileIsRefusedBeforeAnythingIsAllocatedFromItsSizes(string file, string reason)
    {
        string path = PyTorchFixtures.PathOf(file);
        var error = Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(path));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain(reason));
    }

    [TestCase("dtypes.pt")]
    [TestCase("dtypes-legacy.pt")]
    [TestCase("robust-resnet-legacy.pt")]
    public void EveryTruncationIsRefusedNamingTheFile(string file)
    {
        var bytes = File.ReadAllBytes(PyTorchFixtures.PathOf(file));
        string folder = TestData.TempFolder();
        // the start, through every header pickle, into the object pickle, the storages, the end
        var cuts = new[] { 0, 1, 2, 5, 14, 15, 20, 21, 100, 136, 137, 500, 2000, 2100, 2300, bytes.Length / 2, bytes.Length - 300, bytes.Length - 1 }
            .Where(c => c < bytes.Length).Distinct();
        foreach (int cut in cuts)
        {
            string path = Path.Combine(folder, $"cut{cut}-{file}");
            File.WriteAllBytes(path, bytes[..cut]);
            var error = Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(path), $"cut at {cut} of {bytes.Length}");
            Assert.That(error!.Message, Does.StartWith(path), $"cut at {cut}");
        }
    }

    [Test]
    public void AWrongMagicNumberOrAForeignFileIsRefused()
    {
        string folder = TestData.TempFolder();
        var legacy = File.ReadAllBytes(PyTorchFixtures.PathOf("dtypes-legacy.pt"));
        legacy[5] ^= 0x01; // inside the LONG1 magic number 0x1950a86a20f9469cfc6c
        string wrongMagic = Path.Combine(folder, "wrong-magic.pt");
        File.WriteAllBytes(wrongMagic, legacy);
        string jpeg = Path.Combine(folder, "photo.pt");
        File.WriteAllBytes(jpeg, [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F']);
        string zip = Path.Combine(folder, "other.zip");
        using (var archive = new System.IO.Compression.ZipArchive(File.Create(zip), System.IO.Compression.ZipArchiveMode.Create))
            archive.CreateEntry("readme.txt");
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(wrongMagic))!.Message, Does.StartWith(wrongMagic).And.Contain("wrong magic number"));
            Assert.That(Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(jpeg))!.Message, Does.StartWith(jpeg).And.Contain("not a PyTorch checkpoint"));
            Assert.That(Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(zip))!.Message, Does.StartWith(zip).And.Contain("data.pkl"));
            Assert.That(Assert.Throws<ReproInputException>(() => PyTorchCheckpoint.Read(Path.Combine(folder, "absent.pt")))!.Message, Does.Contain("absent.pt"));
        });
    }

    [Test]
    public void AStateDictIsFoundAtTheTopOrUnderModel()
    {
        using var _ = NewDisposeScope();
        using var plain = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf("basic-resnet.pth"));
        using var dtypes = PyTorchCheckpoint.Read(PyTorchFixtures.PathOf("dtypes.pt"));
        Assert.That(plain.StateDict().Keys, Has.Member("conv1.weight").And.Member("layer4.1.bn2.num_batches_tracked"));
        var error = Assert.Throws<ReproInputException>(() => dtypes.StateDict());
        Assert.That(error!.Message, Does.Contain("dtypes.pt").And.Contain("tensors"));
    }

    [Test]
    public void TheReaderAndPyBridgeKeepTheirOwnPickleConstructors()
    {
        // Razorvine keeps one process-wide constructor table that both this reader and
        // TorchSharp.PyBridge use; each read must leave PyBridge's entries as they were.
        using var _ = NewDisposeScope();
        var shape = PyTorchFixtures.Shape(PyTorchFixtures.Json("basic-resnet.json"), Repro.Models.ResNetBlock.Basic);
        string path = PyTorchFixtures.PathOf("basic-resnet.pth");
        using var network = new Repro.Models.TorchvisionResNetNetwork(shape);
        for (int round = 0; round < 2; round++)
        {
            TorchSharp.PyBridge.PyBridgeModuleExtensions.load_py(network, path);
            using var checkpoint = PyTorchCheckpoint.Read(path);
            var ours = checkpoint.StateDict();
            var theirs = network.state_dict();
            Assert.That(ours.Keys, Is.EquivalentTo(theirs.Keys), $"round {round}");
            foreach (var (key, value) in ours)
                Assert.That(theirs[key].eq(value).all().item<bool>(), Is.True, $"round {round}: {key}");
        }
    }
}
