using GppfActors.Actors.Checkpointing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>Deterministic checkpoint payloads and a byte-exact comparison of two payloads.</summary>
internal static class Payloads
{
    /// <summary>
    /// A payload whose tensors have random bytes (NaN payloads included) in several dtypes and shapes,
    /// and JSON with nesting, escapes and non-ASCII text; the caller disposes it.
    /// </summary>
    public static CheckpointPayload Sample(long step, long epoch = 1, int seed = 7, string job = "unit")
    {
        var random = new Random(seed + (int)step);
        using var scope = NewDisposeScope();
        var model = new Dictionary<string, Tensor>
        {
            ["backbone.0.conv.weight"] = RandomTensor(ScalarType.Float32, [4, 3, 3, 3], random),
            ["backbone.0.bn.running_mean"] = RandomTensor(ScalarType.Float32, [4], random),
            ["backbone.0.bn.num_batches_tracked"] = RandomTensor(ScalarType.Int64, [], random),
            ["heads.cls.weight"] = RandomTensor(ScalarType.BFloat16, [5, 4], random),
            ["controllers.det.logits"] = RandomTensor(ScalarType.Float64, [17, 2], random),
        };
        var optimizer = new Dictionary<string, Tensor>
        {
            ["state.0.momentum_buffer"] = RandomTensor(ScalarType.Float32, [4, 3, 3, 3], random),
            ["state.1.exp_avg_sq"] = RandomTensor(ScalarType.Float16, [0, 4], random),
        };
        return new CheckpointPayload(
            step,
            epoch,
            model,
            optimizer,
            $$"""{"base_lr":0.1,"warmup_steps":500,"overrides":[{"from":{{step}},"lr":1e-3}]}""",
            """{"seed":42,"cursors":{"cls":[3,1,4],"seg":[1,5]},"rng":"AAECAwQ=","note":"caf\u00e9 \"q\" \\ /"}""",
            $$"""
            {
              "name": "{{job}}",
              "tasks": ["cls", "seg"],
              "lr": 0.1
            }
            """,
            new Dictionary<string, string> { ["host"] = "node-1", ["git"] = "abc123" });
    }

    /// <summary>Asserts both payloads hold the same step, epoch, JSON text and tensor bytes, dtypes and shapes.</summary>
    public static void AssertIdentical(CheckpointPayload expected, CheckpointPayload actual)
    {
        Assert.Equal(expected.Step, actual.Step);
        Assert.Equal(expected.Epoch, actual.Epoch);
        Assert.Equal(expected.ScheduleStateJson, actual.ScheduleStateJson);
        Assert.Equal(expected.SamplerStateJson, actual.SamplerStateJson);
        Assert.Equal(expected.ConfigJson, actual.ConfigJson);
        Assert.Equal(expected.Metadata.OrderBy(pair => pair.Key), actual.Metadata.OrderBy(pair => pair.Key));
        AssertIdentical(expected.ModelState, actual.ModelState);
        AssertIdentical(expected.OptimizerState, actual.OptimizerState);
    }

    private static void AssertIdentical(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in expected)
        {
            var other = actual[name];
            Assert.Equal(tensor.dtype, other.dtype);
            Assert.Equal(tensor.shape, other.shape);
            Assert.Equal(BytesOf(tensor), BytesOf(other));
        }
    }

    /// <summary>A tensor's bytes as laid out contiguously; comparing bytes makes NaN payloads count too.</summary>
    public static byte[] BytesOf(Tensor tensor)
    {
        if (tensor.numel() == 0)
        {
            return [];
        }
        using var contiguous = tensor.contiguous();
        return contiguous.bytes.ToArray();
    }

    private static Tensor RandomTensor(ScalarType dtype, long[] shape, Random random)
    {
        var tensor = empty(shape, dtype);
        var bytes = new byte[tensor.numel() * tensor.element_size()];
        random.NextBytes(bytes);
        if (bytes.Length > 0)
        {
            tensor.bytes = bytes;
        }
        return tensor;
    }
}
