using static TorchSharp.torch;

namespace GppfActors.Testing;

/// <summary>
/// Byte-exact comparison of state dicts (model or optimizer state): the check behind every
/// "replicas are bit-identical" claim. Bytes, not <c>eq().all()</c>, because eq treats -0 and +0
/// as equal and NaN as different from itself.
/// </summary>
public static class StateAssert
{
    /// <summary>Detached, contiguous CPU copies of <paramref name="state"/> that outlive any dispose scope; dispose them with <see cref="DisposeAll"/>.</summary>
    public static Dictionary<string, Tensor> Snapshot(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        using var scope = NewDisposeScope();
        var copy = state.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous().clone());
        foreach (var t in copy.Values)
        {
            t.DetachFromDisposeScope();
        }
        return copy;
    }

    /// <summary>Disposes every tensor of a snapshot.</summary>
    public static void DisposeAll(IEnumerable<Dictionary<string, Tensor>> snapshots)
    {
        foreach (var t in snapshots.SelectMany(s => s.Values))
        {
            t.Dispose();
        }
    }

    /// <summary>
    /// Fails unless both dicts have the same keys and every tensor has the same dtype, shape and
    /// bytes; the message lists the keys that differ (first ten) with the first differing element.
    /// </summary>
    public static void BytesEqual(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual, string what = "")
    {
        var problems = expected.Keys.Except(actual.Keys).Order(StringComparer.Ordinal).Select(k => $"missing {k}")
            .Concat(actual.Keys.Except(expected.Keys).Order(StringComparer.Ordinal).Select(k => $"unexpected {k}"))
            .ToList();
        foreach (var key in expected.Keys.Intersect(actual.Keys).Order(StringComparer.Ordinal))
        {
            if (Difference(expected[key], actual[key]) is { } difference)
            {
                problems.Add($"{key}: {difference}");
            }
        }
        Xunit.Assert.True(problems.Count == 0,
            $"{what}: {problems.Count} state entries differ: {string.Join("; ", problems.Take(10))}{(problems.Count > 10 ? "; ..." : "")}");
    }

    private static string? Difference(Tensor expected, Tensor actual)
    {
        if (expected.dtype != actual.dtype)
        {
            return $"dtype {actual.dtype}, expected {expected.dtype}";
        }
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            return $"shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]";
        }
        using var scope = NewDisposeScope();
        var a = expected.detach().cpu().contiguous();
        var b = actual.detach().cpu().contiguous();
        var bytesA = a.bytes;
        var bytesB = b.bytes;
        if (bytesA.SequenceEqual(bytesB))
        {
            return null;
        }
        int elementSize = (int)a.element_size();
        int firstByte = 0;
        while (bytesA[firstByte] == bytesB[firstByte])
        {
            firstByte++;
        }
        long index = firstByte / elementSize;
        var flatA = a.reshape(-1);
        var flatB = b.reshape(-1);
        return $"element {index} is {Value(flatB[index])}, expected {Value(flatA[index])}";
    }

    private static string Value(Tensor scalar) =>
        scalar.dtype == ScalarType.Bool ? scalar.item<bool>().ToString() : scalar.to_type(ScalarType.Float64).item<double>().ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
