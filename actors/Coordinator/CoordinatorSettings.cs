namespace GppfActors.Actors.Coordinator;

/// <summary>How the coordinator runs a job: steps, evaluation and checkpoint cadence, device count, deadlines and budgets.</summary>
public sealed record CoordinatorSettings(
    long MaxSteps,
    int ExpectedDevices,
    int EvalEverySteps = 0,
    int EvalBatches = 4,
    int CheckpointEverySteps = 0,
    double CollectiveTimeoutSeconds = 60,
    long StartStep = 0,
    string? CheckpointRoot = null,
    string ConfigJson = "{}")
{
    /// <summary>Epochs of this run start above this one (the highest epoch its journal and checkpoint saw).</summary>
    public long StartEpoch { get; init; }

    /// <summary>Every expected device must have started within this time.</summary>
    public double StartTimeoutSeconds { get; init; } = 600;

    /// <summary>A step not answered by every rank within this time is treated as hung: silent devices are dropped and restarted.</summary>
    public double StepTimeoutSeconds { get; init; } = 600;

    /// <summary>Joining a group and aligning replicas must finish within this time.</summary>
    public double AlignTimeoutSeconds => 2 * CollectiveTimeoutSeconds + 30;

    /// <summary>A held-out evaluation must finish within this time; unfinished tasks are reported as failed.</summary>
    public double EvalTimeoutSeconds { get; init; } = 1800;

    /// <summary>Rank 0 must finish writing a checkpoint within this time.</summary>
    public double CheckpointWriteTimeoutSeconds { get; init; } = 900;

    /// <summary>The journal must acknowledge a commit within this time; the commit is sent again up to <see cref="CommitAttempts"/> times.</summary>
    public double CommitTimeoutSeconds { get; init; } = 30;

    /// <summary>Commit attempts per checkpoint.</summary>
    public int CommitAttempts { get; init; } = 3;

    /// <summary>A step discarded more often than this in a row fails the run.</summary>
    public int StepRetries { get; init; } = 3;

    /// <summary>This many non-finite (skipped) steps in a row stop the run.</summary>
    public int MaxNonFiniteSteps { get; init; } = 10;

    /// <summary>The committed checkpoint a resumed run starts from: the first alignment's root loads it.</summary>
    public Checkpointing.CheckpointRecord? ResumeFrom { get; init; }

    /// <summary>At the end, every replica reports a digest of its state and the run fails if they differ.</summary>
    public bool VerifyReplicas { get; init; } = true;

    /// <summary>
    /// Each epoch's group needs an id made in rank 0's process before anyone joins (NCCL's unique id):
    /// the coordinator asks rank 0's device for it and hands it to every rank in the group spec.
    /// </summary>
    public bool GroupIdFromRankZero { get; init; }

    /// <summary>How often deadlines are checked.</summary>
    public double TickSeconds { get; init; } = 1;

    /// <summary>True when checkpoints are written (a root is set and a journal is given).</summary>
    public bool Checkpoints => CheckpointRoot is not null;

    /// <summary>Names the first invalid setting.</summary>
    public CoordinatorSettings Validate()
    {
        if (MaxSteps < 1)
        {
            throw new ArgumentException($"train.max_steps must be >= 1, got {MaxSteps}");
        }
        if (ExpectedDevices < 1)
        {
            throw new ArgumentException($"devices: at least one device is needed, got {ExpectedDevices}");
        }
        if (EvalEverySteps < 0 || CheckpointEverySteps < 0)
        {
            throw new ArgumentException("eval.every_steps and checkpoint.every_steps must be >= 0 (0 = never)");
        }
        if (!(CollectiveTimeoutSeconds > 0))
        {
            throw new ArgumentException($"collectives.timeout_seconds must be > 0, got {CollectiveTimeoutSeconds}");
        }
        if (!(StepTimeoutSeconds > CollectiveTimeoutSeconds))
        {
            // Peers of a stuck device wait in a collective; only if that times out first do they
            // answer, so that at the step's deadline the silent devices are exactly the stuck ones.
            throw new ArgumentException($"train.step_timeout_seconds ({StepTimeoutSeconds}) must be above collectives.timeout_seconds ({CollectiveTimeoutSeconds})");
        }
        Positive(StartTimeoutSeconds, "train.start_timeout_seconds");
        Positive(StepTimeoutSeconds, "train.step_timeout_seconds");
        Positive(EvalTimeoutSeconds, "eval.timeout_seconds");
        Positive(CheckpointWriteTimeoutSeconds, "checkpoint.write_timeout_seconds");
        Positive(CommitTimeoutSeconds, "checkpoint.commit_timeout_seconds");
        Positive(TickSeconds, "tick");
        if (CommitAttempts < 1 || StepRetries < 0 || MaxNonFiniteSteps < 1)
        {
            throw new ArgumentException($"commit attempts >= 1, train.step_retries >= 0 and train.max_nonfinite_steps >= 1 are required (got {CommitAttempts}, {StepRetries}, {MaxNonFiniteSteps})");
        }
        return this;
    }

    private static void Positive(double value, string key)
    {
        if (!(value > 0) || double.IsNaN(value))
        {
            throw new ArgumentException($"{key} must be > 0, got {value}");
        }
    }
}
