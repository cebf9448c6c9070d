using GppfActors.Collectives;
using static TorchSharp.torch;

namespace GppfActors.Testing;

/// <summary>Runs one body per virtual device on its own thread, all joined to one in-process group, and rethrows the first failure.</summary>
public static class Devices
{
    public static T[] Run<T>(int worldSize, Func<int, ICollectiveGroup, T> body, double timeoutSeconds = 30, long epoch = 1)
    {
        var hub = new InProcessCollectiveHub(epoch, worldSize, TimeSpan.FromSeconds(timeoutSeconds));
        var results = new T[worldSize];
        var errors = new Exception?[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(rank => new Thread(() =>
        {
            try
            {
                using var group = hub.Join(rank);
                results[rank] = body(rank, group);
            }
            catch (Exception e)
            {
                errors[rank] = e;
                hub.Abort($"rank {rank} failed: {e.Message}");
            }
        })
        { IsBackground = true, Name = $"device-{rank}" }).ToList();
        threads.ForEach(t => t.Start());
        foreach (var t in threads)
        {
            if (!t.Join(TimeSpan.FromSeconds(timeoutSeconds * 4)))
            {
                throw new TimeoutException("a device thread did not finish: deadlock");
            }
        }
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is not null)
        {
            throw new AggregateException(errors.Where(e => e is not null)!);
        }
        return results;
    }
}

/// <summary>Tensor comparison helpers with messages that show the size of the mismatch.</summary>
public static class TensorAssert
{
    /// <summary>|a - b| &lt;= rtol * max|b| + atol element-wise (a relative tolerance on the tensor's scale).</summary>
    public static void Close(Tensor actual, Tensor expected, double rtol = 1e-4, double atol = 1e-7, string what = "")
    {
        Xunit.Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var a = actual.detach().to_type(float64);
        var b = expected.detach().to_type(float64);
        double scale = b.numel() == 0 ? 0 : b.abs().max().item<double>();
        double diff = a.numel() == 0 ? 0 : (a - b).abs().max().item<double>();
        Xunit.Assert.True(diff <= rtol * scale + atol, $"{what}: max abs diff {diff:g4} exceeds {rtol:g2} x scale {scale:g4} + {atol:g2}");
    }

    /// <summary>Same dtype, shape and bytes (not <c>eq</c>, which treats -0 and +0 as equal and NaN as unequal to itself).</summary>
    public static void Equal(Tensor actual, Tensor expected, string what = "") =>
        StateAssert.BytesEqual(new Dictionary<string, Tensor> { [what] = expected }, new Dictionary<string, Tensor> { [what] = actual }, what);
}
