using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// A SHA-256 over state dicts (keys in ordinal order; each key, dtype, shape and the tensor's bytes),
/// so replicas in different processes can show they are bit-identical by exchanging 32 bytes.
/// </summary>
public static class StateDigest
{
    /// <summary>The lowercase hex digest of <paramref name="states"/>, taken in the order given.</summary>
    public static string Of(params IReadOnlyDictionary<string, Tensor>[] states)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var scope = NewDisposeScope();
        foreach (var state in states)
        {
            foreach (var (key, tensor) in state.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                hash.AppendData(Encoding.UTF8.GetBytes($"{key}|{tensor.dtype}|{string.Join("x", tensor.shape)}|"));
                if (tensor.numel() > 0)
                {
                    hash.AppendData(tensor.detach().cpu().contiguous().bytes);
                }
            }
            hash.AppendData("||"u8);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
