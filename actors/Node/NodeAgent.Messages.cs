using GppfActors.Actors.Messages;

namespace GppfActors.Actors.Node;

/// <summary>The job is over (finished, or failed with <paramref name="Summary"/>); every node's process may end.</summary>
public sealed record JobEnded(bool Succeeded, long Step, string Summary) : IGppfMessage;
