using System.Runtime.InteropServices;
using GppfActors.Model.Checkpoints;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>Tensors, modules and byte-level comparisons shared by the checkpoint specs.</summary>
internal static class CheckpointFixtures
{
    /// <summary>Shapes every dtype is exercised with: ordinary, 3-d, 0-d scalar and empty.</summary>
    public static readonly IReadOnlyDictionary<string, long[]> Shapes = new Dictionary<string, long[]>
    {
        ["matrix"] = [3, 5],
        ["cube"] = [2, 3, 4],
        ["scalar"] = [],
        ["empty"] = [0, 4],
    };

    /// <summary>A CPU tensor whose bytes are random, so NaN payloads and denormals are covered too.</summary>
    public static Tensor RandomTensor(ScalarType dtype, long[] shape, Random random)
    {
        var tensor = empty(shape, dtype);
        var bytes = new byte[tensor.numel() * tensor.element_size()];
        random.NextBytes(bytes);
        if (dtype == ScalarType.Bool)
        {
            // A bool byte other than 0 or 1 is undefined behaviour in libtorch, so keep to those.
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] &= 1;
            }
        }
        if (bytes.Length > 0)
        {
            tensor.bytes = bytes;
        }
        return tensor;
    }

    /// <summary>One random tensor per supported dtype and shape, keyed like <c>F32.matrix</c>; the caller disposes them.</summary>
    public static Dictionary<string, Tensor> EveryDTypeAndShape(int seed)
    {
        var random = new Random(seed);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var dtype in SafeTensorsDTypes.ScalarTypes)
        {
            foreach (var (shapeName, shape) in Shapes)
            {
                tensors[$"{SafeTensorsDTypes.NameOf(dtype)}.{shapeName}"] = RandomTensor(dtype, shape, random);
            }
        }
        return tensors;
    }

    /// <summary>The raw bytes of a tensor as it would be laid out contiguously on the CPU.</summary>
    public static byte[] BytesOf(Tensor tensor)
    {
        if (tensor.numel() == 0)
        {
            return [];
        }
        using var scope = NewDisposeScope();
        return tensor.detach().cpu().contiguous().bytes.ToArray();
    }

    /// <summary>Asserts two tensor maps have the same keys, and per key the same dtype, shape and bytes.</summary>
    public static void AssertSameTensors(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Xunit.Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in expected)
        {
            Xunit.Assert.True(tensor.dtype == actual[name].dtype, $"{name}: dtype {actual[name].dtype}, expected {tensor.dtype}");
            Xunit.Assert.Equal(tensor.shape, actual[name].shape);
            Xunit.Assert.True(BytesOf(tensor).AsSpan().SequenceEqual(BytesOf(actual[name])), $"{name}: bytes differ");
        }
    }

    /// <summary>A small network whose state dict has weights, biases and BatchNorm buffers: 0.*, 1.running_mean, 1.num_batches_tracked, 2.*.</summary>
    public static nn.Module<Tensor, Tensor> SmallNet(int seed)
    {
        var net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Linear(2, 3));
        Randomize(net, seed);
        return net;
    }

    /// <summary>Overwrites every parameter and buffer with finite values drawn from <paramref name="seed"/>.</summary>
    public static void Randomize(nn.Module module, int seed)
    {
        var random = new Random(seed);
        using var scope = NewDisposeScope();
        foreach (var (_, tensor) in module.state_dict())
        {
            var count = (int)tensor.numel();
            tensor.bytes = tensor.dtype switch
            {
                ScalarType.Float32 => MemoryMarshal.AsBytes(Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray().AsSpan()).ToArray(),
                ScalarType.Int64 => MemoryMarshal.AsBytes(Enumerable.Range(0, count).Select(_ => random.NextInt64(1, 1000)).ToArray().AsSpan()).ToArray(),
                _ => throw new NotSupportedException($"No randomizer for {tensor.dtype}"),
            };
        }
    }

    /// <summary>A snapshot of every parameter and buffer's bytes, to compare a module before and after.</summary>
    public static Dictionary<string, byte[]> StateBytes(nn.Module module)
    {
        using var scope = NewDisposeScope();
        return module.state_dict().ToDictionary(pair => pair.Key, pair => BytesOf(pair.Value), StringComparer.Ordinal);
    }

    /// <summary>Asserts two snapshots hold the same keys and bytes.</summary>
    public static void AssertSameState(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Xunit.Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in expected)
        {
            Xunit.Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"{name}: bytes differ");
        }
    }

    /// <summary>Disposes every tensor in a map the test owns.</summary>
    public static void DisposeAll(IReadOnlyDictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }
}
