namespace GppfActors.Actors.Checkpointing;

/// <summary>One file of a checkpoint as the manifest pins it: name inside the directory, size and SHA-256.</summary>
/// <param name="Name">A plain file name inside the checkpoint directory (no directory parts).</param>
/// <param name="Bytes">The file's size; checked before hashing, so a truncated file is reported as such.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the file's bytes.</param>
public sealed record CheckpointManifestEntry(string Name, long Bytes, string Sha256);
