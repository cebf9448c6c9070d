using GppfActors.Actors.Messages;

namespace GppfActors.Actors.Sampling;

/// <summary>Draw the assignment of <paramref name="Step"/> for <paramref name="WorldSize"/> devices.</summary>
public sealed record DrawStep(long Step, int WorldSize) : IGppfMessage;

/// <summary>
/// Each rank's task and sample indices for a step, the next step's (for prefetching), and the
/// sampler state before this step's draw (it travels with the step, see <see cref="Coordinator.CoordinatorSnapshot"/>).
/// </summary>
public sealed record StepDrawn(
    long Step,
    IReadOnlyList<string> Tasks,
    IReadOnlyList<IReadOnlyList<long>> Indices,
    IReadOnlyList<string> NextTasks,
    IReadOnlyList<IReadOnlyList<long>> NextIndices,
    string? StateBefore = null) : IGppfMessage;

/// <summary>Undo every draw from <paramref name="Step"/> on (a discarded step is drawn again).</summary>
public sealed record RewindTo(long Step) : IGppfMessage;

/// <summary>The draws are undone.</summary>
public sealed record Rewound(long Step) : IGppfMessage;

/// <summary>Ask for the sampler state as of before <paramref name="Step"/> is drawn (for a checkpoint of that step boundary).</summary>
public sealed record GetSamplerState(long Step) : IGppfMessage;

/// <summary>The sampler state JSON.</summary>
public sealed record SamplerState(string Json) : IGppfMessage;

/// <summary>Replace the sampler state (resume from a checkpoint).</summary>
public sealed record RestoreSamplerState(string Json) : IGppfMessage;
