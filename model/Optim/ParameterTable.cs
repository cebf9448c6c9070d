using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Optim;

/// <summary>The parameters one optimizer updates, with their decay flag, plus the state-dict key parsing both optimizers share.</summary>
internal sealed class ParameterTable
{
    private readonly Dictionary<string, Entry> _byName;

    public ParameterTable(IReadOnlyList<NamedParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var entries = new List<Entry>(parameters.Count);
        _byName = new Dictionary<string, Entry>(parameters.Count, StringComparer.Ordinal);
        foreach (var named in parameters)
        {
            ArgumentNullException.ThrowIfNull(named, nameof(parameters));
            var entry = new Entry(named.Name, named.Parameter, ParameterGroups.UsesWeightDecay(named.Name, named.Parameter));
            // Names key the optimizer state, so a duplicate would make two parameters share a buffer.
            if (!_byName.TryAdd(entry.Name, entry))
            {
                throw new ArgumentException($"parameter name '{entry.Name}' appears more than once", nameof(parameters));
            }

            entries.Add(entry);
        }

        Entries = entries;
    }

    /// <summary>The parameters in the order given, which fixes the order of state-dict keys.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Splits <paramref name="key"/> into a known parameter and one of <paramref name="suffixes"/>, or throws naming the key.</summary>
    /// <remarks>Matching by suffix rather than splitting at a dot, because parameter names themselves contain dots.</remarks>
    public (Entry Entry, string Suffix) Resolve(string key, IReadOnlyList<string> suffixes)
    {
        foreach (var suffix in suffixes)
        {
            if (key.EndsWith(suffix, StringComparison.Ordinal)
                && _byName.TryGetValue(key[..^suffix.Length], out var entry))
            {
                return (entry, suffix);
            }
        }

        throw new ArgumentException(
            $"unknown optimizer state key '{key}': expected <parameter name> followed by one of {string.Join(", ", suffixes)}",
            nameof(key));
    }

    /// <summary>Throws naming <paramref name="key"/> unless <paramref name="value"/> has the parameter's shape.</summary>
    public static void RequireSameShape(string key, Tensor value, Entry entry)
    {
        if (!value.shape.AsSpan().SequenceEqual(entry.Parameter.shape))
        {
            throw new ArgumentException(
                $"optimizer state '{key}' has shape [{string.Join(", ", value.shape)}] but parameter '{entry.Name}' has shape [{string.Join(", ", entry.Parameter.shape)}]",
                nameof(value));
        }
    }

    /// <summary>A new state tensor on the parameter's device and dtype holding a copy of <paramref name="value"/>, detached from every dispose scope.</summary>
    /// <remarks>Call under <c>torch.no_grad()</c>; the optimizer owns the result and disposes it.</remarks>
    public static Tensor OwnedCopy(Tensor value, Entry entry)
    {
        var copy = zeros_like(entry.Parameter).DetachFromDisposeScope();
        try
        {
            copy.copy_(value);
        }
        catch
        {
            copy.Dispose();
            throw;
        }

        return copy;
    }

    /// <summary>One optimized parameter and whether weight decay applies to it.</summary>
    public sealed record Entry(string Name, Parameter Parameter, bool UsesWeightDecay);
}
