namespace GppfActors.Actors;

/// <summary>Actor names and configuration paths, kept in one place (kebab-case).</summary>
public static class ActorPaths
{
    public const string DeviceDispatcher = "gppf.device-dispatcher";
    public const string NodeAgent = "node-agent";
    public const string Coordinator = "training-coordinator";
    public const string TaskSampler = "task-sampler";
    public const string ScheduleManager = "schedule-manager";
    public const string CheckpointJournal = "checkpoint-journal";
    public const string CheckpointJournalSupervisor = "checkpoint-journal-supervisor";

    /// <summary>Name of a device actor, e.g. device-cpu-0.</summary>
    public static string Device(Devices.DeviceId id) => $"device-{id.Kind}-{id.Ordinal}";
}
