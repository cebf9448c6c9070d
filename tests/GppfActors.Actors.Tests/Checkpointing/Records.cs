using GppfActors.Actors.Checkpointing;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>Checkpoint records for tests that need only the journal's view, not files on disk.</summary>
internal static class Records
{
    public static readonly DateTime Created = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    /// <summary>A well-formed record of <paramref name="step"/> under <paramref name="root"/>, with a manifest hash derived from the step.</summary>
    public static CheckpointRecord At(long step, long epoch = 1, string root = "/checkpoints", char hashDigit = 'a') =>
        new(step, epoch, Path.Combine(root, CheckpointLayout.DirectoryName(step)), new string(hashDigit, 63) + (step % 10), 1000 + step, Created);
}
