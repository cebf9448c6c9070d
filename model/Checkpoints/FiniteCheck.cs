using static TorchSharp.torch;

namespace GppfActors.Model.Checkpoints;

/// <summary>Finds non-finite values (NaN, +-Inf) in a state dict, so such a state is never checkpointed.</summary>
public static class FiniteCheck
{
    /// <summary>Keys of floating-point tensors holding a NaN or an infinity, in key order.</summary>
    public static IReadOnlyList<string> NonFiniteKeys(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var scope = NewDisposeScope();
        var bad = new List<string>();
        foreach (var (key, tensor) in state.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (tensor.is_floating_point() && tensor.numel() > 0 && !isfinite(tensor).all().item<bool>())
            {
                bad.Add(key);
            }
        }
        return bad;
    }
}
