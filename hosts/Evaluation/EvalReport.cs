namespace GppfActors.Host.Evaluation;

/// <summary>What <c>gppf eval --json</c> writes: the checkpoint, its step and job, the split, and each task's result.</summary>
internal sealed record EvalReport(string Checkpoint, long Step, string Job, string Split, IReadOnlyDictionary<string, EvalTaskReport> Tasks);
