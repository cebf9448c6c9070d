using GppfActors.Actors.Sampling;
using GppfActors.Model.Backbone;
using GppfActors.Model.Optim;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using GppfActors.Tasks.Definitions;

namespace GppfActors.ClusterConfig.Jobs;

/// <summary>
/// A training job, typed and immutable: data, backbone, routing, sampling, optimizer, cadence,
/// checkpoints and the tasks. Read from a preset or a JSON file (snake_case keys), adjusted by
/// <c>--set key=value</c>, validated with errors that name the key, logged once and stored in
/// every checkpoint.
/// </summary>
public sealed record JobConfig
{
    public string Name { get; init; } = "job";

    /// <summary>Seed of initialisation, task draws, data order, augmentation and Gumbel noise.</summary>
    public ulong Seed { get; init; } = 1;

    public DataSection Data { get; init; } = new();

    public BackboneSection Backbone { get; init; } = new();

    public RoutingSection Routing { get; init; } = new();

    public SamplingSection Sampling { get; init; } = new();

    /// <summary>Cross-task SyncBN over all devices (the paper's default); false is the ablation.</summary>
    public bool SyncBatchNorm { get; init; } = true;

    public OptimizerSection Optimizer { get; init; } = new();

    public TrainSection Train { get; init; } = new();

    public EvalSection Eval { get; init; } = new();

    public CheckpointSection Checkpoint { get; init; } = new();

    public CollectivesSection Collectives { get; init; } = new();

    /// <summary>What the run serves for watching it: the live view and the metrics endpoint (nothing by default).</summary>
    public ObservabilitySection Observability { get; init; } = new();

    /// <summary>Where the weights start: fresh (pre-training) or from a pre-trained checkpoint (fine-tuning).</summary>
    public InitSection Init { get; init; } = new();

    public IReadOnlyList<TaskDefinition> Tasks { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key; returns this.</summary>
    public JobConfig Validate()
    {
        Check(!string.IsNullOrWhiteSpace(Name), "name", "must not be empty");
        Data.Validate();
        BackboneConfig.Validate();
        Routing.Validate();
        Optimizer.Validate();
        Train.Validate();
        Eval.Validate();
        Checkpoint.Validate();
        Collectives.Validate();
        Observability.Validate();
        Init.Validate(BackboneConfig);
        Check(Tasks.Count > 0, "tasks", "must list at least one task");
        foreach (var task in Tasks)
        {
            task.Validate();
        }
        var duplicate = Tasks.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        Check(duplicate is null, $"tasks.{duplicate?.Key}", "is listed twice");
        Check(Optimizer.WarmupSteps < Train.MaxSteps, "optimizer.warmup_steps",
            $"must be below train.max_steps ({Train.MaxSteps}), so the cosine phase of the learning rate has a step; got {Optimizer.WarmupSteps}");
        Check(Data.TimeoutSeconds < Collectives.TimeoutSeconds, "data.timeout_seconds",
            $"must be below collectives.timeout_seconds ({Collectives.TimeoutSeconds}), so a slow sample is reported as itself rather than as a peer's collective time-out; got {Data.TimeoutSeconds}");
        Check(Collectives.TimeoutSeconds < Train.StepTimeoutSeconds, "train.step_timeout_seconds",
            $"must be above collectives.timeout_seconds ({Collectives.TimeoutSeconds}); got {Train.StepTimeoutSeconds}");
        return this;
    }

    /// <summary>The backbone this job builds.</summary>
    public BackboneConfig BackboneConfig => Model.Backbone.BackboneConfig.FromPreset(Backbone.Preset, Backbone.NumUnits) with
    {
        ActivationCheckpointing = Backbone.Checkpointing,
    };

    internal static void Check(bool condition, string key, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{key} {problem}");
        }
    }
}

/// <summary>
/// Where the data lives; optionally generate the synthetic set there first. <c>timeout_seconds</c>:
/// how long a device waits for its batch before the step fails naming the sample.
/// </summary>
public sealed record DataSection(string Root = "data/synth-small", bool GenerateIfMissing = false, string SyntheticSize = "small",
    ulong SyntheticSeed = 7, int Workers = 2, bool SkipBadSamples = false, double TimeoutSeconds = 30)
{
    public void Validate()
    {
        JobConfig.Check(TimeoutSeconds > 0 && double.IsFinite(TimeoutSeconds), "data.timeout_seconds", $"must be > 0, got {TimeoutSeconds}");
        JobConfig.Check(!string.IsNullOrWhiteSpace(Root), "data.root", "must name a folder");
        JobConfig.Check(SyntheticSize is "small" or "medium", "data.synthetic_size", $"must be small or medium, got '{SyntheticSize}'");
        JobConfig.Check(Workers is >= 1 and <= 64, "data.workers", $"must be in [1, 64] (background decode threads per task and device), got {Workers}");
    }
}

/// <summary>
/// Backbone preset (resnet50, resnet18, small, tiny, swin_t, swin_small) and units per lego layer; activation
/// checkpointing (<c>none</c>, <c>all</c>, or <c>every_k</c> with <c>activation_checkpointing_every</c> = k:
/// layers 0, k, 2k, ...), which changes memory and step time, never results.
/// </summary>
public sealed record BackboneSection(string Preset = "small", int NumUnits = 2,
    CheckpointingMode ActivationCheckpointing = CheckpointingMode.None, int ActivationCheckpointingEvery = 2)
{
    /// <summary>The activation checkpointing setting as the model reads it.</summary>
    public ActivationCheckpointing Checkpointing => new(ActivationCheckpointing, ActivationCheckpointingEvery);
}

/// <summary>Gumbel routing: soft or hard, and the temperature schedule.</summary>
public sealed record RoutingSection(RoutingMode Mode = RoutingMode.Soft, double Tau0 = 5.0, double TauMin = 0.01, long TauDecaySteps = 450_000)
{
    public void Validate()
    {
        JobConfig.Check(Mode is RoutingMode.Soft or RoutingMode.Hard, "routing.mode", $"must be soft or hard, got {Mode}");
        JobConfig.Check(Tau0 > 0 && TauMin > 0 && TauMin <= Tau0, "routing.tau0/tau_min", $"must satisfy 0 < tau_min <= tau0, got {Tau0} and {TauMin}");
        JobConfig.Check(TauDecaySteps >= 1, "routing.tau_decay_steps", $"must be >= 1, got {TauDecaySteps}");
    }
}

/// <summary>SIMT (each device its own task) or per-batch (all devices one task per step).</summary>
public sealed record SamplingSection(SamplingMode Mode = SamplingMode.Simt);

/// <summary>Optimizer and learning-rate schedule (linear warm-up, then cosine to min_lr at train.max_steps).</summary>
public sealed record OptimizerSection(OptimizerKind Kind = OptimizerKind.Sgd, double Lr = 0.16, double Momentum = 0.9, double WeightDecay = 5e-4,
    long WarmupSteps = 50_000, double MinLr = 0, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8)
{
    public OptimizerConfig ToOptimizerConfig() => new(Kind, Momentum, WeightDecay, Beta1, Beta2, Eps);

    public void Validate()
    {
        JobConfig.Check(Lr > 0 && double.IsFinite(Lr), "optimizer.lr", $"must be > 0, got {Lr}");
        JobConfig.Check(MinLr >= 0 && MinLr <= Lr, "optimizer.min_lr", $"must be in [0, optimizer.lr], got {MinLr}");
        JobConfig.Check(WarmupSteps >= 0, "optimizer.warmup_steps", $"must be >= 0, got {WarmupSteps}");
        ToOptimizerConfig().Validate();
    }
}

/// <summary>
/// How long and on which devices, and the failure rules: how long devices may take to start and a
/// step may take before it counts as hung, how often a step may be discarded in a row, and how many
/// non-finite steps in a row stop the run. <see cref="ShareWeights"/>: the CPU devices of a process
/// share one copy of the weights and optimizer state (the default; bit-identical to a replica per
/// device, which costs a full copy per device and is what <c>train.share_weights=false</c> gives).
/// <see cref="Precision"/>: the number format of convolutions, linear layers and attention products
/// (<c>fp32</c>, or <c>bf16</c> mixed precision with fp32 weights, gradients and optimizer state); it
/// may change between a run and its resumption.
/// </summary>
public sealed record TrainSection(long MaxSteps = 500_000, string Devices = "cpu:2", double StartTimeoutSeconds = 600, double StepTimeoutSeconds = 600,
    int StepRetries = 3, int MaxNonfiniteSteps = 10, int IntraOpThreads = 0, bool ShareWeights = true, ComputePrecision Precision = ComputePrecision.Fp32)
{
    /// <summary>
    /// libtorch's intra-op threads in a process hosting <paramref name="cpuDevices"/> CPU devices:
    /// train.intra_op_threads, or (0) the cores shared out among them. Results are bit-identical
    /// across process layouts only when every process uses the same number.
    /// </summary>
    public int ThreadsFor(int cpuDevices) => IntraOpThreads > 0 ? IntraOpThreads : Math.Max(1, Environment.ProcessorCount / Math.Max(1, cpuDevices));

    public void Validate()
    {
        JobConfig.Check(MaxSteps >= 1, "train.max_steps", $"must be >= 1, got {MaxSteps}");
        JobConfig.Check(StartTimeoutSeconds > 0 && double.IsFinite(StartTimeoutSeconds), "train.start_timeout_seconds", $"must be > 0, got {StartTimeoutSeconds}");
        JobConfig.Check(StepTimeoutSeconds > 0 && double.IsFinite(StepTimeoutSeconds), "train.step_timeout_seconds", $"must be > 0, got {StepTimeoutSeconds}");
        JobConfig.Check(StepRetries >= 0, "train.step_retries", $"must be >= 0, got {StepRetries}");
        JobConfig.Check(MaxNonfiniteSteps >= 1, "train.max_nonfinite_steps", $"must be >= 1, got {MaxNonfiniteSteps}");
        JobConfig.Check(IntraOpThreads is >= 0 and <= 1024, "train.intra_op_threads", $"must be in [0, 1024] (0: the cores shared out among the process's CPU devices), got {IntraOpThreads}");
        Actors.Devices.DeviceId.ParseList(Devices, visibleGpus: 1);
    }
}

/// <summary>Held-out evaluation cadence (0 = only at the end), size, and how long it may take.</summary>
public sealed record EvalSection(int EverySteps = 0, int Batches = 4, double TimeoutSeconds = 1800)
{
    public void Validate()
    {
        JobConfig.Check(TimeoutSeconds > 0 && double.IsFinite(TimeoutSeconds), "eval.timeout_seconds", $"must be > 0, got {TimeoutSeconds}");
        JobConfig.Check(EverySteps >= 0, "eval.every_steps", $"must be >= 0, got {EverySteps}");
        JobConfig.Check(Batches >= 1, "eval.batches", $"must be >= 1, got {Batches}");
    }
}

/// <summary>
/// Checkpoint folder (the run folder: one job's), cadence (0 = only at the end), retention (keep the
/// last K and every M-th step), and how long a write and a journal commit may take.
/// </summary>
public sealed record CheckpointSection(string Dir = "runs/job", int EverySteps = 0, int KeepLast = 3, int KeepEvery = 0,
    double WriteTimeoutSeconds = 900, double CommitTimeoutSeconds = 30, string Journal = CheckpointSection.SqliteJournal,
    string JournalConnectionEnv = "GPPF_JOURNAL_CONNECTION")
{
    /// <summary>The journal in the run folder's <c>journal.db</c>: one machine.</summary>
    public const string SqliteJournal = "sqlite";

    /// <summary>The journal in a PostgreSQL database: several machines.</summary>
    public const string PostgreSqlJournal = "postgresql";

    public void Validate()
    {
        JobConfig.Check(Journal is SqliteJournal or PostgreSqlJournal, "checkpoint.journal", $"must be '{SqliteJournal}' or '{PostgreSqlJournal}', got '{Journal}'");
        JobConfig.Check(!string.IsNullOrWhiteSpace(JournalConnectionEnv) && JournalConnectionEnv.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'),
            "checkpoint.journal_connection_env", $"must name an environment variable (letters, digits, _), got '{JournalConnectionEnv}'");
        JobConfig.Check(WriteTimeoutSeconds > 0 && double.IsFinite(WriteTimeoutSeconds), "checkpoint.write_timeout_seconds", $"must be > 0, got {WriteTimeoutSeconds}");
        JobConfig.Check(CommitTimeoutSeconds > 0 && double.IsFinite(CommitTimeoutSeconds), "checkpoint.commit_timeout_seconds", $"must be > 0, got {CommitTimeoutSeconds}");
        JobConfig.Check(!string.IsNullOrWhiteSpace(Dir), "checkpoint.dir", "must name a folder");
        JobConfig.Check(EverySteps >= 0, "checkpoint.every_steps", $"must be >= 0, got {EverySteps}");
        JobConfig.Check(KeepLast >= 1, "checkpoint.keep_last", $"must be >= 1 (the newest checkpoint is always kept), got {KeepLast}");
        JobConfig.Check(KeepEvery >= 0, "checkpoint.keep_every", $"must be >= 0 (0 = none), got {KeepEvery}");
    }
}

/// <summary>Collective time-out: a device silent this long aborts the group.</summary>
public sealed record CollectivesSection(double TimeoutSeconds = 60)
{
    public void Validate() => JobConfig.Check(TimeoutSeconds > 0 && double.IsFinite(TimeoutSeconds), "collectives.timeout_seconds", $"must be > 0, got {TimeoutSeconds}");
}

/// <summary>
/// What a run serves for watching it, each endpoint its own block of properties:
/// <list type="bullet">
/// <item>the live web view (read-only page and <c>/api/state</c>) on <c>web_host:web_port</c>;</item>
/// <item>the Prometheus metrics on <c>http://metrics_host:metrics_port/metrics</c>.</item>
/// </list>
/// Port 0 (the default) serves nothing: the job is the same on every node, and nodes sharing a
/// machine need a port each (<c>--web-port</c>, <c>--metrics-port</c>). Both bind to loopback unless
/// an address is named (<c>*</c> for the metrics, <c>0.0.0.0</c> for the view: every interface).
/// </summary>
public sealed record ObservabilitySection
{
    /// <summary>Port of the live web view (read-only page and <c>/api/state</c>); 0 = off.</summary>
    public int WebPort { get; init; }

    /// <summary>Address the live web view binds to: loopback unless an operator opens it up.</summary>
    public string WebHost { get; init; } = "127.0.0.1";

    /// <summary>Port of the node's Prometheus endpoint; 0 = off.</summary>
    public int MetricsPort { get; init; }

    /// <summary>Host the metrics endpoint binds to: loopback unless an address or <c>*</c> is named.</summary>
    public string MetricsHost { get; init; } = "127.0.0.1";

    public void Validate()
    {
        JobConfig.Check(WebPort is >= 0 and <= 65535, "observability.web_port", $"must be in [0, 65535] (0 = no live view), got {WebPort}");
        JobConfig.Check(System.Net.IPAddress.TryParse(WebHost, out _) || WebHost == "localhost", "observability.web_host",
            $"must be an IP address to bind to (127.0.0.1, 0.0.0.0, ::1) or localhost, got '{WebHost}'");
        JobConfig.Check(MetricsPort is >= 0 and <= 65535, "observability.metrics_port", $"must be in [0, 65535] (0: no metrics endpoint), got {MetricsPort}");
        JobConfig.Check(!string.IsNullOrWhiteSpace(MetricsHost) && !MetricsHost.Any(c => char.IsWhiteSpace(c) || c is '/' or ':'),
            "observability.metrics_host", $"must be a host name, an IPv4 address or *, got '{MetricsHost}'");
    }
}
