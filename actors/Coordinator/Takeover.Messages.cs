using GppfActors.Actors.Devices;
using GppfActors.Actors.Messages;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// The coordinator's small state as of the start of step <paramref name="Step"/>, sent with every
/// <see cref="RunStep"/> so that a coordinator started elsewhere (its node was lost) can continue
/// from the devices without reading a checkpoint: the sampler state before the step's draw, the
/// schedule, the epoch and world size of the step, the last committed checkpoint and the
/// non-finite counters. A few hundred bytes; one instance is shared by every device's message.
/// </summary>
public sealed record CoordinatorSnapshot(
    long Step,
    long Epoch,
    int WorldSize,
    string SamplerBefore,
    string Schedule,
    long LastCommittedStep,
    long NonFiniteTotal,
    int NonFiniteConsecutive) : IGppfMessage;

/// <summary>
/// From a coordinator taking over (its sender) to every node agent, which aborts its process's
/// newest collective epoch (devices blocked on peers of the lost node wake), answers with a
/// <see cref="NodeReport"/> and forwards this to each of its devices; each device answers with a
/// <see cref="DeviceReport"/> and from then on takes commands only from the sender's node.
/// </summary>
public sealed record ReportForTakeover(string Reason) : IGppfMessage;

/// <summary>A node agent's answer to <see cref="ReportForTakeover"/>: how many device reports to expect from it.</summary>
public sealed record NodeReport(string Node, int Devices) : IGppfMessage;

/// <summary>
/// What a device holds: its collective identity, the newest epoch it joined, the number of steps
/// its replica has applied (<paramref name="ReadyFor"/>, the next step it can run; null when its
/// replica holds no trained state: fresh, restarted, or broken by a failed load or alignment),
/// whether its last step was skipped as non-finite, and the snapshot that came with the last
/// <see cref="RunStep"/> it received.
/// </summary>
public sealed record DeviceReport(
    DeviceId Device,
    string ProcessId,
    string Endpoint,
    long Epoch,
    long? ReadyFor,
    bool LastStepSkipped,
    CoordinatorSnapshot? Last) : IGppfMessage;
