namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// What the journal remembers about one written checkpoint: where it is and the hash of its
/// manifest, which in turn pins every file's hash, so the journal entry identifies the bytes exactly.
/// </summary>
/// <param name="Step">The training step the checkpoint was taken after.</param>
/// <param name="Epoch">The membership epoch the step ran in.</param>
/// <param name="Directory">The absolute path of the final (renamed) checkpoint directory.</param>
/// <param name="ManifestSha256">Lowercase hex SHA-256 of <c>manifest.json</c>.</param>
/// <param name="Bytes">Total size of the checkpoint's files, manifest included.</param>
/// <param name="CreatedUtc">When the writer finished the checkpoint.</param>
public sealed record CheckpointRecord(long Step, long Epoch, string Directory, string ManifestSha256, long Bytes, DateTime CreatedUtc);
