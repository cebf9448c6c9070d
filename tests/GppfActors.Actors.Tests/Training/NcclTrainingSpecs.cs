using Akka.TestKit.Xunit2;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.Collectives;
using GppfActors.Collectives.Nccl;
using GppfActors.Model.Routing;
using GppfActors.Model.Schedules;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.Actors.Tests.Training;

/// <summary>
/// The actors' NCCL protocol on CPUs: the device actors train through NCCL groups (a simulated NCCL
/// over host memory, <see cref="FakeNccl"/>), rank 0's process makes each epoch's unique id, the
/// coordinator hands it to every rank, and a failed device's epoch is aborted and replaced by a
/// communicator with a new id. The replicas must end bit-identical to a run through the in-process
/// group, which sums in the same rank order.
/// </summary>
public class NcclTrainingSpecs
{
    private static readonly SampledTask[] Tasks = [new("colour", 2.0, 512, 8), new("stripes", 1.0, 512, 8)];

    private sealed record Run(List<object> Events, IReadOnlyList<Dictionary<string, byte[]>> Replicas)
    {
        public IReadOnlyList<MembershipChanged> Epochs => [.. Events.OfType<MembershipChanged>()];
    }

    private static Run Train(ICollectiveGroupFactory collectives, bool groupIds, FaultPlan faults, int devices = 3, long maxSteps = 16)
    {
        using var kit = new TestKit(ActorSystemConfig.Base);
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 5, maxSteps), new TemperatureSchedule(5.0, 0.5, maxSteps));
        var settings = new CoordinatorSettings(maxSteps, devices, CollectiveTimeoutSeconds: 20) { GroupIdFromRankZero = groupIds };
        var coordinator = kit.Sys.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, kit.TestActor), ActorPaths.Coordinator);
        var factory = new ToyWorkloadFactory(faults);
        kit.Sys.ActorOf(NodeAgent.Props(DeviceId.ParseList($"cpu:{devices}"), factory, collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);
        var events = new List<object>();
        while (true)
        {
            var message = kit.ExpectMsg<object>(TimeSpan.FromSeconds(60));
            events.Add(message);
            if (message is TrainingFailed failed)
            {
                Assert.Fail(failed.Reason);
            }
            if (message is TrainingFinished)
            {
                // The devices are idle once the run finished; their replicas go with the actor system.
                var replicas = factory.Live.Select(State).ToList();
                kit.Shutdown();
                return new Run(events, replicas);
            }
        }
    }

    private static Dictionary<string, byte[]> State(ToyWorkload workload) =>
        workload.Replica.Network.state_dict().ToDictionary(kv => kv.Key, kv => Checkpointing.Payloads.BytesOf(kv.Value));

    private static void AssertSameState(Run expected, Run actual)
    {
        Assert.Equal(expected.Replicas.Count, actual.Replicas.Count);
        var reference = expected.Replicas[0];
        foreach (var state in expected.Replicas.Concat(actual.Replicas))
        {
            Assert.Equal(reference.Keys.Order(), state.Keys.Order());
            foreach (var (key, bytes) in reference)
            {
                Assert.True(bytes.AsSpan().SequenceEqual(state[key]), $"{key} differs");
            }
        }
    }

    [Fact]
    public void Should_train_through_NCCL_groups_whose_id_rank_zero_made_and_match_the_in_process_group_bit_for_bit()
    {
        using var hub = new CollectiveNode();
        var reference = Train(hub, groupIds: false, new FaultPlan());

        var nccl = new FakeNccl();
        using var factory = NcclCollectiveGroupFactory.OverHostMemory(nccl, "node-a");
        var run = Train(factory, groupIds: true, new FaultPlan());

        Assert.Empty(nccl.Violations);
        var epoch = Assert.Single(run.Epochs);
        Assert.Equal(3, epoch.WorldSize);
        // One id for the one epoch, made on rank 0's device thread; every rank's communicator was formed with it.
        var made = Assert.Single(nccl.Calls, c => c.Name == "ncclGetUniqueId");
        var inits = nccl.Calls.Where(c => c.Name == "ncclCommInitRankConfig").ToList();
        Assert.Equal(3, inits.Count);
        Assert.Single(inits.Select(c => Convert.ToBase64String(nccl.InitIds[c.Comm])).Distinct());
        Assert.Equal(["rank 0 of 3", "rank 1 of 3", "rank 2 of 3"], inits.Select(c => c.Detail).Order());
        Assert.Contains(made.Thread, inits.Where(c => c.Detail == "rank 0 of 3").Select(c => c.Thread));
        Assert.True(nccl.Calls.Count(c => c.Name == "ncclAllReduce") >= 3 * 16, "every step's fusion goes through NCCL");

        Assert.Equal(16, run.Events.OfType<TrainingFinished>().Single().Step);
        AssertSameState(reference, run);
    }

    [Fact]
    public void Should_abort_a_failed_devices_communicator_and_continue_on_a_new_one_with_a_fresh_id()
    {
        using var hub = new CollectiveNode();
        var reference = Train(hub, groupIds: false, new FaultPlan((1, 7)));

        var nccl = new FakeNccl();
        using var factory = NcclCollectiveGroupFactory.OverHostMemory(nccl, "node-a");
        var run = Train(factory, groupIds: true, new FaultPlan((1, 7)));

        Assert.Empty(nccl.Violations);
        Assert.Equal(2, run.Epochs.Count);                   // the start, and the recovery from the failed device
        Assert.Contains("step 7", run.Epochs[1].Reason);
        // Each epoch formed its own communicator from its own id: 3 ranks each, 2 distinct ids.
        var inits = nccl.Calls.Where(c => c.Name == "ncclCommInitRankConfig").ToList();
        Assert.Equal(6, inits.Count);
        Assert.Equal(2, nccl.Calls.Count(c => c.Name == "ncclGetUniqueId"));
        Assert.Equal(2, inits.Select(c => Convert.ToBase64String(nccl.InitIds[c.Comm])).Distinct().Count());
        // The survivors, waiting in the failed step's all-reduce, were woken by aborting the first epoch's communicators.
        var first = inits.Take(3).Select(c => c.Comm).ToHashSet();
        Assert.True(nccl.Calls.Count(c => c.Name == "ncclCommAbort" && first.Contains(c.Comm)) >= 2,
            string.Join("; ", nccl.Calls.Where(c => c.Name is "ncclCommAbort" or "ncclCommDestroy").Select(c => $"{c.Name} {c.Comm}")));

        Assert.Equal(Enumerable.Range(0, 16).Select(i => (long)i), run.Events.OfType<TrainingProgress>().Select(p => p.Step));
        AssertSameState(reference, run);
    }
}
