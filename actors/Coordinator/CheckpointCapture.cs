using GppfActors.Actors.Checkpointing;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// One checkpoint at a time, from the step boundary to the journal's acknowledgement: ask the
/// sampler and the schedule for their state, have rank 0 copy and write, commit through the
/// journal. Every phase has a deadline, and the commit round trip is retried (a commit is
/// idempotent), so a dead writer or a journal that is restarting never leaves the coordinator
/// believing a checkpoint is still being written. Pure: times are seconds on a monotonic clock,
/// the writer is an opaque key.
/// </summary>
public sealed class CheckpointCapture(double writeTimeoutSeconds, double commitTimeoutSeconds, int commitAttempts)
{
    private string? samplerJson;
    private string? scheduleJson;
    private double deadline;
    private int attempts;

    /// <summary>Where the current checkpoint is.</summary>
    public CapturePhase Phase { get; private set; } = CapturePhase.Idle;

    /// <summary>The step of the current checkpoint (meaningless when idle).</summary>
    public long Step { get; private set; } = -1;

    /// <summary>The device writing it, while writing.</summary>
    public object? Writer { get; private set; }

    /// <summary>The written checkpoint being committed, while committing.</summary>
    public CheckpointRecord? Record { get; private set; }

    /// <summary>The newest step the journal acknowledged in this process (-1 when none).</summary>
    public long LastCommittedStep { get; private set; } = -1;

    /// <summary>True while a checkpoint is on its way.</summary>
    public bool Busy => Phase != CapturePhase.Idle;

    /// <summary>Starts the checkpoint of <paramref name="step"/>; null when accepted, else why not.</summary>
    public string? Request(long step)
    {
        if (step <= LastCommittedStep)
        {
            return $"step {step} is already committed";
        }
        if (Busy)
        {
            return $"skipped: the checkpoint of step {Step} is still being {(Phase == CapturePhase.Committing ? "committed" : "written")}";
        }
        Phase = CapturePhase.AwaitingState;
        Step = step;
        samplerJson = null;
        scheduleJson = null;
        Record = null;
        Writer = null;
        return null;
    }

    /// <summary>The sampler's state for the requested step arrived.</summary>
    public void SamplerState(string json)
    {
        if (Phase == CapturePhase.AwaitingState)
        {
            samplerJson = json;
        }
    }

    /// <summary>The schedule's state arrived.</summary>
    public void ScheduleState(string json)
    {
        if (Phase == CapturePhase.AwaitingState)
        {
            scheduleJson = json;
        }
    }

    /// <summary>True when the write order can be sent.</summary>
    public bool ReadyToWrite => Phase == CapturePhase.AwaitingState && samplerJson is not null && scheduleJson is not null;

    /// <summary>Hands the write to <paramref name="writer"/>; returns the states to send with it.</summary>
    public (long Step, string SamplerJson, string ScheduleJson) StartWriting(object writer, double now)
    {
        if (!ReadyToWrite)
        {
            throw new InvalidOperationException($"checkpoint of step {Step}: not ready to write in phase {Phase}");
        }
        Phase = CapturePhase.Writing;
        Writer = writer;
        deadline = now + writeTimeoutSeconds;
        return (Step, samplerJson!, scheduleJson!);
    }

    /// <summary>
    /// Rank 0 wrote a checkpoint; true when it should be committed (now a commit attempt is in flight).
    /// A late result, for a step given up on, is still committed when nothing else is in flight and
    /// it is newer than the last commit: its files are complete and verified by their manifest.
    /// </summary>
    public bool Written(CheckpointRecord record, double now)
    {
        bool current = Phase == CapturePhase.Writing && record.Step == Step;
        bool late = Phase == CapturePhase.Idle && record.Step > LastCommittedStep;
        if (!current && !late)
        {
            return false;
        }
        Phase = CapturePhase.Committing;
        Step = record.Step;
        Record = record;
        Writer = null;
        attempts = 1;
        deadline = now + commitTimeoutSeconds;
        return true;
    }

    /// <summary>The journal acknowledged <paramref name="step"/>.</summary>
    public void Committed(long step)
    {
        LastCommittedStep = Math.Max(LastCommittedStep, step);
        if (Step == step && Phase != CapturePhase.Idle)
        {
            Reset();
        }
    }

    /// <summary>Writing or committing <paramref name="step"/> failed; true when that was the current checkpoint.</summary>
    public bool Failed(long step)
    {
        if (Phase == CapturePhase.Idle || Step != step)
        {
            return false;
        }
        Reset();
        return true;
    }

    /// <summary>The device <paramref name="device"/> is gone; if it was writing, the checkpoint is given up (returns the reason).</summary>
    public string? WriterLost(object device)
    {
        if (Phase != CapturePhase.Writing || !Equals(Writer, device))
        {
            return null;
        }
        var reason = $"the device writing the checkpoint of step {Step} stopped before it finished";
        Reset();
        return reason;
    }

    /// <summary>What a passed deadline means at <paramref name="now"/>.</summary>
    public CaptureTimeout? Expired(double now)
    {
        if (Phase is not (CapturePhase.Writing or CapturePhase.Committing) || now < deadline)
        {
            return null;
        }
        long step = Step;
        if (Phase == CapturePhase.Writing)
        {
            Reset();
            return new CaptureTimeout.GiveUp(step, $"rank 0 did not finish writing within {writeTimeoutSeconds:0.#} s");
        }
        if (attempts < commitAttempts)
        {
            attempts++;
            deadline = now + commitTimeoutSeconds;
            return new CaptureTimeout.RetryCommit(Record!, attempts);
        }
        Reset();
        return new CaptureTimeout.GiveUp(step, $"the journal did not acknowledge the commit within {commitAttempts} attempt(s) of {commitTimeoutSeconds:0.#} s");
    }

    private void Reset()
    {
        Phase = CapturePhase.Idle;
        samplerJson = null;
        scheduleJson = null;
        Record = null;
        Writer = null;
    }
}

/// <summary>The phases of one checkpoint.</summary>
public enum CapturePhase
{
    Idle,
    AwaitingState,
    Writing,
    Committing,
}

/// <summary>What to do when a checkpoint phase's deadline passed.</summary>
public abstract record CaptureTimeout
{
    private CaptureTimeout()
    {
    }

    /// <summary>Send the commit again (attempt number <paramref name="Attempt"/>).</summary>
    public sealed record RetryCommit(CheckpointRecord Record, int Attempt) : CaptureTimeout;

    /// <summary>The checkpoint of <paramref name="Step"/> is not saved.</summary>
    public sealed record GiveUp(long Step, string Reason) : CaptureTimeout;
}
