namespace GppfActors.Actors.Checkpointing;

/// <summary>A state to be checkpointed holds NaN or infinite values; it is never written.</summary>
public sealed class NonFiniteStateException(long step, IReadOnlyList<string> keys)
    : Exception($"the state of step {step} holds non-finite values ({string.Join(", ", keys.Take(5))}{(keys.Count > 5 ? $" and {keys.Count - 5} more" : "")}); it is not checkpointed")
{
    /// <summary>The keys with non-finite values.</summary>
    public IReadOnlyList<string> Keys { get; } = keys;
}
