using System.Diagnostics;
using Akka.Actor;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using Prometheus;

namespace GppfActors.Actors.Metrics;

/// <summary>
/// One node's Prometheus metrics: owns the node's own <see cref="CollectorRegistry"/> (never the
/// static default one, since tests run several nodes in one process) with every metric the
/// project exports, each carrying the <c>node</c> label. Device actors and the journal reach it as
/// an actor-system extension (<see cref="Of"/>; absent when the host did not register one, and
/// then nothing is recorded); the host feeds it the coordinator's events (<see cref="Observe"/>).
/// The names and what each measures are listed in docs/architecture.md ("Metrics").
/// </summary>
public sealed class NodeMetrics : IExtension
{
    // Seconds from 1 ms to about 2 min, doubling: a step on a small CPU job to a large checkpoint write.
    private static readonly double[] SecondsBuckets = Histogram.ExponentialBuckets(0.001, 2, 18);

    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private double? lastCommitAt;

    private readonly Histogram deviceStepSeconds;
    private readonly Counter deviceSteps;
    private readonly Counter deviceRestarts;
    private readonly Gauge deviceLiveTensors;
    private readonly Gauge loaderQueueDepth;
    private readonly Counter collectiveBytes;
    private readonly Counter collectiveWaitSeconds;
    private readonly Histogram checkpointWriteSeconds;
    private readonly Counter checkpointWrittenBytes;
    private readonly Histogram journalCommitSeconds;

    private readonly Counter steps;
    private readonly Gauge step;
    private readonly Histogram stepSeconds;
    private readonly Gauge learningRate;
    private readonly Gauge tau;
    private readonly Gauge taskLoss;
    private readonly Counter taskImages;
    private readonly Gauge taskImagesPerSecond;
    private readonly Gauge epoch;
    private readonly Gauge devicesLive;
    private readonly Counter stepsDiscarded;
    private readonly Counter stepsNonFinite;
    private readonly Counter checkpointsCommitted;
    private readonly Gauge checkpointLastStep;
    private readonly Gauge checkpointLastBytes;
    private readonly Gauge checkpointAge;
    private readonly Gauge unitProbability;

    private readonly Gauge residentMemory;
    private readonly Gauge managedMemory;

    public NodeMetrics(string node)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        Node = node;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Registry.SetStaticLabels(new Dictionary<string, string> { ["node"] = node });
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        var seconds = new HistogramConfiguration { Buckets = SecondsBuckets };
        var hidden = new GaugeConfiguration { SuppressInitialValue = true };

        // Measured by the devices of this node.
        deviceStepSeconds = f.CreateHistogram("gppf_device_step_seconds",
            "Seconds of one device's step by phase: data (waiting for the batch), forward_backward, collective (task-average fusion of the gradients), optimizer.",
            ["device", "task", "phase"], seconds);
        deviceSteps = f.CreateCounter("gppf_device_steps_total", "Steps a device completed, by the task it ran.", ["device", "task"]);
        deviceRestarts = f.CreateCounter("gppf_device_restarts_total", "Times a device actor was restarted by its node agent after it failed.", ["device"]);
        deviceLiveTensors = f.CreateGauge("gppf_device_live_tensors", "Tensors alive that the device's thread created, after its last step (less the checkpoint copies its writer disposed).", ["device"]);
        loaderQueueDepth = f.CreateGauge("gppf_loader_queue_depth", "Batches a device's training loaders have prefetched or are decoding for coming steps.", ["device"]);
        collectiveBytes = f.CreateCounter("gppf_collective_bytes_total", "Tensor bytes a device passed to collectives (all-reduce, broadcast, all-gather) during steps.", ["device"]);
        collectiveWaitSeconds = f.CreateCounter("gppf_collective_wait_seconds_total", "Seconds a device waited for its peers inside collectives during steps.", ["device"]);
        checkpointWriteSeconds = f.CreateHistogram("gppf_checkpoint_write_seconds", "Seconds to write, fsync, hash and rename one checkpoint (on the writing device's node).", ["device"], seconds);
        checkpointWrittenBytes = f.CreateCounter("gppf_checkpoint_written_bytes_total", "Bytes of checkpoint files written (on the writing device's node).", ["device"]);
        journalCommitSeconds = f.CreateHistogram("gppf_journal_commit_seconds", "Seconds from asking the journal to persist a checkpoint commit to the event being stored.", seconds);

        // Measured by the coordinator (exported by the node that runs it).
        steps = f.CreateCounter("gppf_steps_total", "Training steps finished (applied or skipped as non-finite) since this process started.");
        step = f.CreateGauge("gppf_step", "Steps the run has done: the last finished step's index + 1 (a checkpoint of step N holds N steps).", hidden);
        stepSeconds = f.CreateHistogram("gppf_step_seconds", "Wall seconds of one training step as the coordinator sees it, from sending it to the last answer.", seconds);
        learningRate = f.CreateGauge("gppf_learning_rate", "Learning rate of the last finished step.", hidden);
        tau = f.CreateGauge("gppf_gumbel_tau", "Gumbel temperature of the last finished step.", hidden);
        taskLoss = f.CreateGauge("gppf_task_loss", "Training loss of the task in the last step that ran it (mean over its devices).", ["task"]);
        taskImages = f.CreateCounter("gppf_task_images_total", "Training images (samples) consumed, by task.", ["task"]);
        taskImagesPerSecond = f.CreateGauge("gppf_task_images_per_second", "Images per second of the task in the last step that ran it (its samples over the step's wall time).", ["task"]);
        epoch = f.CreateGauge("gppf_membership_epoch", "The current membership epoch.", hidden);
        devicesLive = f.CreateGauge("gppf_devices_live", "Devices in the current membership epoch.", hidden);
        stepsDiscarded = f.CreateCounter("gppf_steps_discarded_total", "Steps no device completed, discarded and drawn again after a failure.");
        stepsNonFinite = f.CreateCounter("gppf_steps_nonfinite_skipped_total", "Steps skipped on every replica because a loss or gradient was NaN or infinite.");
        checkpointsCommitted = f.CreateCounter("gppf_checkpoints_committed_total", "Checkpoints committed in the journal.");
        checkpointLastStep = f.CreateGauge("gppf_checkpoint_last_step", "Step of the last checkpoint committed by this process.", hidden);
        checkpointLastBytes = f.CreateGauge("gppf_checkpoint_last_bytes", "Size of the last committed checkpoint's files.", hidden);
        checkpointAge = f.CreateGauge("gppf_checkpoint_age_seconds", "Seconds since the last checkpoint was committed by this process.", hidden);
        unitProbability = f.CreateGauge("gppf_routing_unit_probability",
            "Probability that the task's controller selects the unit in the layer (softmax of its logits after the last step that ran the task).", ["task", "layer", "unit"]);

        // The process.
        residentMemory = f.CreateGauge("gppf_process_resident_memory_bytes", "Resident memory of the process (working set), native allocations of libtorch included.");
        managedMemory = f.CreateGauge("gppf_process_managed_memory_bytes", "Bytes the .NET garbage collector holds.");
        Registry.AddBeforeCollectCallback(BeforeCollect);
    }

    /// <summary>The node label of every metric.</summary>
    public string Node { get; }

    /// <summary>The registry that holds this node's metrics (what its /metrics serves).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>The metrics registered with <paramref name="system"/>, or null when none were.</summary>
    public static NodeMetrics? Of(ActorSystem system) => system.HasExtension<NodeMetrics>() ? system.GetExtension<NodeMetrics>() : null;

    /// <summary>Makes these the metrics of <paramref name="system"/> (before its actors start).</summary>
    public void RegisterWith(ActorSystem system) => system.RegisterExtension(new Provider(this));

    /// <summary>One device's step: its timings by phase, collective traffic and wait, loader queue and live tensors.</summary>
    public void DeviceStep(DeviceId device, string task, StepTimings timings, DeviceCounters counters)
    {
        string d = device.Local;
        deviceStepSeconds.WithLabels(d, task, "data").Observe(timings.Data);
        deviceStepSeconds.WithLabels(d, task, "forward_backward").Observe(timings.ForwardBackward);
        deviceStepSeconds.WithLabels(d, task, "collective").Observe(timings.Fusion);
        deviceStepSeconds.WithLabels(d, task, "optimizer").Observe(timings.Optimizer);
        deviceSteps.WithLabels(d, task).Inc();
        collectiveBytes.WithLabels(d).Inc(counters.CollectiveBytes);
        collectiveWaitSeconds.WithLabels(d).Inc(counters.CollectiveWaitSeconds);
        loaderQueueDepth.WithLabels(d).Set(counters.LoaderQueueDepth);
        deviceLiveTensors.WithLabels(d).Set(counters.LiveTensors);
    }

    /// <summary>A device actor was restarted after a failure.</summary>
    public void DeviceRestarted(DeviceId device) => deviceRestarts.WithLabels(device.Local).Inc();

    /// <summary>A device wrote a checkpoint of <paramref name="bytes"/> in <paramref name="seconds"/>.</summary>
    public void CheckpointWritten(DeviceId device, double seconds, long bytes)
    {
        checkpointWriteSeconds.WithLabels(device.Local).Observe(seconds);
        checkpointWrittenBytes.WithLabels(device.Local).Inc(bytes);
    }

    /// <summary>The journal stored a checkpoint commit <paramref name="seconds"/> after it was asked to.</summary>
    public void JournalCommitted(double seconds) => journalCommitSeconds.Observe(seconds);

    /// <summary>Records one of the coordinator's events (progress, skips, membership, checkpoints); others are ignored.</summary>
    public void Observe(object coordinatorEvent)
    {
        switch (coordinatorEvent)
        {
            case TrainingProgress p: Progress(p); break;
            case StepSkipped s:
                steps.Inc();
                step.Set(s.Step + 1);
                stepsNonFinite.Inc();
                break;
            case MembershipChanged m:
                epoch.Set(m.Epoch);
                devicesLive.Set(m.WorldSize);
                if (m.StepDiscarded)
                {
                    stepsDiscarded.Inc();
                }
                break;
            case CheckpointSaved c:
                checkpointsCommitted.Inc();
                checkpointLastStep.Set(c.Record.Step);
                checkpointLastBytes.Set(c.Record.Bytes);
                lock (gate)
                {
                    lastCommitAt = clock.Elapsed.TotalSeconds;
                }
                checkpointAge.Set(0);
                break;
        }
    }

    private void Progress(TrainingProgress p)
    {
        steps.Inc();
        step.Set(p.Step + 1);
        stepSeconds.Observe(p.StepSeconds);
        learningRate.Set(p.LearningRate);
        tau.Set(p.Tau);
        epoch.Set(p.Epoch);
        devicesLive.Set(p.WorldSize);
        foreach (var (task, loss) in p.LossPerTask)
        {
            taskLoss.WithLabels(task).Set(loss);
        }
        foreach (var (task, samples) in p.SamplesPerTask)
        {
            taskImages.WithLabels(task).Inc(samples);
            taskImagesPerSecond.WithLabels(task).Set(p.StepSeconds > 0 ? samples / p.StepSeconds : 0);
        }
        foreach (var (task, layers) in p.UnitProbabilities)
        {
            for (int l = 0; l < layers.Count; l++)
            {
                for (int u = 0; u < layers[l].Count; u++)
                {
                    unitProbability.WithLabels(task, Label(l), Label(u)).Set(layers[l][u]);
                }
            }
        }
    }

    private static string Label(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    // Values read at scrape time: the checkpoint's age and the process's memory.
    private void BeforeCollect()
    {
        double? committedAt;
        lock (gate)
        {
            committedAt = lastCommitAt;
        }
        if (committedAt is { } at)
        {
            checkpointAge.Set(clock.Elapsed.TotalSeconds - at);
        }
        using var process = Process.GetCurrentProcess();
        residentMemory.Set(process.WorkingSet64);
        managedMemory.Set(GC.GetTotalMemory(forceFullCollection: false));
    }

    private sealed class Provider(NodeMetrics metrics) : ExtensionIdProvider<NodeMetrics>
    {
        public override NodeMetrics CreateExtension(ExtendedActorSystem system) => metrics;
    }
}

/// <summary>What a device counted during one step, besides its timings.</summary>
/// <param name="CollectiveBytes">Tensor bytes passed to collectives in the step.</param>
/// <param name="CollectiveWaitSeconds">Seconds spent waiting for peers inside collectives in the step.</param>
/// <param name="LoaderQueueDepth">Batches prefetched or being decoded after the step.</param>
/// <param name="LiveTensors">Tensors alive on the device thread after the step.</param>
public readonly record struct DeviceCounters(long CollectiveBytes, double CollectiveWaitSeconds, int LoaderQueueDepth, long LiveTensors);
