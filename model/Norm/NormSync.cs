using System.Runtime.ExceptionServices;
using GppfActors.Collectives;
using TorchSharp;

namespace GppfActors.Model.Norm;

/// <summary>
/// Per-replica switch that tells every <see cref="SyncBatchNorm2d"/> of a backbone which collective
/// group to normalise over this step, and holds the step's staged running-statistics updates and
/// its first failure. Shared by all BN layers of one replica; set by whoever runs the step.
/// </summary>
/// <remarks>
/// Outside a step (<see cref="BeginStep"/> not called) the layers behave like PyTorch's: running
/// statistics change in forward and a forward collective failure throws. Inside a step the step
/// owner decides at the end whether the updates count (<see cref="CommitRunningStats"/>) or not.
/// A failure inside backward never throws, in or out of a step: backward runs inside libtorch's
/// autograd engine, and a managed exception that leaves a TorchSharp custom function's backward
/// crosses native frames and kills the process (checked with TorchSharp 0.107). The failure is
/// recorded instead and <see cref="ThrowIfFailed"/> rethrows it once backward has returned.
/// </remarks>
public sealed class NormSync
{
    private readonly List<SyncBatchNorm2d> staged = [];
    private Exception? failure;
    private bool backwardEntered;

    /// <summary>The group of this step; null means plain per-device batch norm.</summary>
    public ICollectiveGroup? Group { get; set; }

    /// <summary>
    /// True in hard routing mode: devices may run different units of a lego layer, so each BN index of
    /// a layer issues one collective covering all N units (zeros and count 0 for units not run here),
    /// which keeps every device's sequence of collectives identical.
    /// </summary>
    public bool FuseUnits { get; set; }

    /// <summary>
    /// Makes the layers keep their batch statistics on the tensors' device (<see cref="DeviceBatchStatistics"/>)
    /// even on the CPU, where they otherwise use the host path; for tests and benchmarks. Layers whose
    /// buffers live on any other device (a GPU) always keep them there, whatever this says.
    /// </summary>
    public bool ForceDeviceStatistics { get; set; }

    /// <summary>True between <see cref="BeginStep"/> and <see cref="EndStep"/>.</summary>
    public bool InStep { get; private set; }

    /// <summary>The first failure recorded in this step's SyncBN collectives or hooks, if any.</summary>
    public Exception? Failure => failure;

    /// <summary>The layers that hold staged running-statistics updates, in the order they were staged.</summary>
    internal IReadOnlyList<SyncBatchNorm2d> Staged => staged;

    /// <summary>Called once per step, from the first SyncBN backward, before its collective (fault injection, tracing).</summary>
    internal Action? OnFirstBackward { get; private set; }

    /// <summary>
    /// Set while a checkpointed lego layer runs its first, gradient-free pass: synced BN layers
    /// record the statistics they normalised with (see <see cref="NormTape"/>).
    /// </summary>
    internal NormTape? Recording { get; private set; }

    /// <summary>
    /// Set while a checkpointed lego layer is recomputed in backward: synced BN layers take their
    /// statistics from here and issue no forward collective, and no BN layer stages or writes a
    /// running-statistics update, because the first pass already did.
    /// </summary>
    internal NormTape? Replaying { get; private set; }

    /// <summary>
    /// Starts a step: discards anything a previous step left behind, binds the group and routing
    /// mode, and from now on stages running-statistics updates and defers forward failures.
    /// </summary>
    public void BeginStep(ICollectiveGroup? group, bool fuseUnits, Action? onFirstBackward = null)
    {
        DiscardRunningStats();
        failure = null;
        backwardEntered = false;
        Group = group;
        FuseUnits = fuseUnits;
        OnFirstBackward = onFirstBackward;
        InStep = true;
    }

    /// <summary>Ends the step: discards updates that were not committed and unbinds the group.</summary>
    public void EndStep()
    {
        DiscardRunningStats();
        failure = null;
        Group = null;
        OnFirstBackward = null;
        InStep = false;
    }

    /// <summary>Writes every staged running-statistics update into its layer's buffers (the step is applied).</summary>
    public void CommitRunningStats()
    {
        foreach (var bn in staged)
        {
            bn.CommitPending();
        }
        staged.Clear();
    }

    /// <summary>Drops every staged running-statistics update (the step is discarded or skipped).</summary>
    public void DiscardRunningStats()
    {
        foreach (var bn in staged)
        {
            bn.DiscardPending();
        }
        staged.Clear();
    }

    /// <summary>Rethrows the first recorded failure, with its original stack trace, and clears it.</summary>
    public void ThrowIfFailed()
    {
        if (failure is { } e)
        {
            failure = null;
            ExceptionDispatchInfo.Throw(e);
        }
    }

    internal void Stage(SyncBatchNorm2d bn) => staged.Add(bn);

    /// <summary>
    /// Whether <paramref name="bn"/> computes its statistics on its device: on a GPU every value the
    /// host path reads back (per-channel sums, the all-reduced row, the staged update) would cost a
    /// device synchronisation, several per BN call; on the CPU the host path is cheaper and stays the default.
    /// </summary>
    internal bool StatisticsOnDevice(SyncBatchNorm2d bn) =>
        ForceDeviceStatistics || bn.RunningMean.device_type != DeviceType.CPU;

    /// <summary>Starts recording the statistics of a checkpointed layer's first pass into <paramref name="tape"/>.</summary>
    internal void BeginRecording(NormTape tape)
    {
        if (Recording is not null || Replaying is not null)
        {
            throw new InvalidOperationException("activation checkpointing: checkpointed layers do not nest");
        }
        Recording = tape;
    }

    /// <summary>Starts replaying <paramref name="tape"/> for the recomputation of a checkpointed layer.</summary>
    internal void BeginReplay(NormTape tape)
    {
        if (Recording is not null || Replaying is not null)
        {
            throw new InvalidOperationException("activation checkpointing: checkpointed layers do not nest");
        }
        tape.Rewind();
        Replaying = tape;
    }

    /// <summary>Ends a recording or a replay; a replayed tape is spent and lets go of its device tensors.</summary>
    internal void EndTape()
    {
        Replaying?.Release();
        Recording = null;
        Replaying = null;
    }

    internal void RecordFailure(Exception e) => failure ??= e;

    /// <summary>Runs <see cref="OnFirstBackward"/> if this is the step's first SyncBN backward.</summary>
    internal void EnterBackward()
    {
        if (!backwardEntered)
        {
            backwardEntered = true;
            OnFirstBackward?.Invoke();
        }
    }
}
