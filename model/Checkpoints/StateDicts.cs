using System.Security.Cryptography;
using static TorchSharp.torch;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// Saves a module's parameters and buffers to a safetensors file under PyTorch-style keys
/// (<c>0.weight</c>, <c>1.running_mean</c>), and loads them back only when the file matches the
/// module exactly, so a checkpoint is either fully restored or not touched at all.
/// </summary>
public static class StateDicts
{
    /// <summary>Writes <c>module.state_dict()</c> (buffers included) to <paramref name="path"/>, crash-safely.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        // state_dict may hand out fresh wrappers for native-backed tensors; the scope frees those and
        // leaves the module's own tensors (made outside it) alone.
        using var scope = NewDisposeScope();
        SafeTensorsFile.Save(path, module.state_dict(), metadata);
    }

    /// <summary>
    /// Copies the tensors in <paramref name="path"/> into <paramref name="module"/>'s existing
    /// parameters and buffers. The file must have exactly the module's keys, each with the module's
    /// shape and dtype; otherwise nothing is modified.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file does not match: the message names the file and lists every missing key, unexpected key
    /// and shape or dtype mismatch at once, so one failed run shows the whole fix. Also thrown for a
    /// malformed file.
    /// </exception>
    public static void LoadExact(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        using var scope = NewDisposeScope();
        var state = module.state_dict();
        // Everything is checked against the header and read into new tensors before the first copy,
        // so a mismatch or a corrupt file cannot leave the module half loaded.
        var loaded = SafeTensorsFile.Load(path, header => RequireExactMatch(header, state, path));
        using (no_grad())
        {
            foreach (var (name, target) in state)
            {
                target.copy_(loaded[name]);
            }
        }
    }

    /// <summary>The lowercase hex SHA-256 of a file, read in a stream, for checkpoint manifests.</summary>
    public static string Sha256Hex(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static void RequireExactMatch(SafeTensorsHeader header, IReadOnlyDictionary<string, Tensor> state, string path)
    {
        var missing = state.Keys.Where(name => !header.TryGet(name, out _)).Order(StringComparer.Ordinal).ToList();
        var unexpected = header.Names.Where(name => !state.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
        var mismatched = new List<string>();
        foreach (var name in state.Keys.Order(StringComparer.Ordinal))
        {
            if (header.TryGet(name, out var entry))
            {
                var target = state[name];
                if (entry.ScalarType != target.dtype || !entry.Shape.SequenceEqual(target.shape))
                {
                    mismatched.Add($"'{name}' is {entry.Describe()} in the file but {Describe(target)} in the module");
                }
            }
        }
        if (missing.Count == 0 && unexpected.Count == 0 && mismatched.Count == 0)
        {
            return;
        }

        var problems = new List<string>();
        if (missing.Count > 0)
        {
            problems.Add($"missing keys (in the module, not the file): {string.Join(", ", missing)}");
        }
        if (unexpected.Count > 0)
        {
            problems.Add($"unexpected keys (in the file, not the module): {string.Join(", ", unexpected)}");
        }
        if (mismatched.Count > 0)
        {
            problems.Add($"shape/dtype mismatches: {string.Join("; ", mismatched)}");
        }
        throw new InvalidDataException(
            $"Checkpoint '{path}' does not match the module, so nothing was loaded. {string.Join(". ", problems)}.");
    }

    private static string Describe(Tensor tensor)
    {
        var dtype = SafeTensorsDTypes.IsSupported(tensor.dtype) ? SafeTensorsDTypes.NameOf(tensor.dtype) : tensor.dtype.ToString();
        return $"{dtype}[{string.Join(", ", tensor.shape)}]";
    }
}
