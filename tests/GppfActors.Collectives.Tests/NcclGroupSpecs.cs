using System.Diagnostics;
using GppfActors.Collectives.Nccl;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

/// <summary>
/// The NCCL group's logic (grouping, deadlines, watchdog, abort, a communicator per epoch, the
/// unique id's path through the spec) against a simulated NCCL on CPU tensors.
/// </summary>
public class NcclGroupSpecs
{
    private static GroupSpec Spec(long epoch, int worldSize, double timeoutSeconds, string? id) =>
        new GroupSpec(epoch, timeoutSeconds, [.. Enumerable.Range(0, worldSize).Select(r => new GroupMember(r, "p", ""))]) { NcclUniqueId = id };

    private static NcclGroupFactory Factory(FakeNccl nccl) => new(nccl, TimeProvider.System, requireCudaTensors: false);

    /// <summary>Runs one body per rank on its own thread, each joined to <paramref name="spec"/>'s communicator.</summary>
    private static (T[] Results, int[] Threads) Ranks<T>(NcclGroupFactory factory, GroupSpec spec, Func<int, ICollectiveGroup, T> body)
    {
        var results = new T[spec.WorldSize];
        var threads = new int[spec.WorldSize];
        var errors = new Exception?[spec.WorldSize];
        var workers = Enumerable.Range(0, spec.WorldSize).Select(rank => new Thread(() =>
        {
            threads[rank] = Environment.CurrentManagedThreadId;
            try
            {
                using var group = factory.JoinOn(spec, rank, cudaDevice: rank, CPU);
                results[rank] = body(rank, group);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })
        { IsBackground = true }).ToList();
        workers.ForEach(w => w.Start());
        foreach (var w in workers)
        {
            Assert.True(w.Join(TimeSpan.FromSeconds(60)), "a rank did not finish");
        }
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            throw new AggregateException(errors.Where(e => e is not null)!);
        }
        return (results, threads);
    }

    [Fact]
    public void Should_sum_in_place_like_the_reference_when_two_ranks_all_reduce()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        var spec = Spec(1, 2, 10, factory.NewUniqueId());
        var (results, _) = Ranks(factory, spec, (rank, group) =>
        {
            var a = arange(10, dtype: float32) * (rank + 1);
            var b = full([2, 3], 0.25 * (rank + 1), dtype: float64);
            var c = tensor(new long[] { 5 * rank, 7 });
            group.AllReduceSum([a, b, c]);
            return (a, b, c);
        });
        foreach (var (a, b, c) in results)
        {
            TensorAssert.Equal(a, arange(10, dtype: float32) * 3, "float32");
            TensorAssert.Equal(b, full([2, 3], 0.75, dtype: float64), "float64");
            TensorAssert.Equal(c, tensor(new long[] { 5, 14 }), "int64");
        }
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_copy_the_roots_tensors_and_gather_every_rank_when_broadcasting_and_gathering()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        var spec = Spec(1, 3, 10, factory.NewUniqueId());
        var (results, _) = Ranks(factory, spec, (rank, group) =>
        {
            var w = full([2, 2], (float)rank, dtype: float32);
            var s = tensor(new[] { rank * 1.5 });
            group.Broadcast([w, s], root: 2);
            var gathered = group.AllGather(tensor(new[] { rank, 10 + rank }));
            group.Barrier();
            return (w, s, gathered);
        });
        foreach (var (w, s, gathered) in results)
        {
            TensorAssert.Equal(w, full([2, 2], 2f), "broadcast float32");
            TensorAssert.Equal(s, tensor(new[] { 3.0 }), "broadcast float64");
            Assert.Equal(3, gathered.Length);
            for (int r = 0; r < 3; r++)
            {
                TensorAssert.Equal(gathered[r], tensor(new[] { r, 10 + r }), $"gathered from rank {r}");
            }
        }
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_enqueue_all_tensors_of_one_call_inside_one_nccl_group_before_waiting()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        var spec = Spec(1, 2, 10, factory.NewUniqueId());
        var (_, threads) = Ranks(factory, spec, (rank, group) =>
        {
            group.AllReduceSum([ones(3), ones(4), ones(5)], "bucket");
            return 0;
        });
        foreach (int thread in threads)
        {
            var names = nccl.CallsOf(thread).Select(c => c.Name).ToList();
            int start = names.IndexOf("ncclGroupStart");
            Assert.True(start >= 0, string.Join(" ", names));
            Assert.Equal(["ncclGroupStart", "ncclAllReduce", "ncclAllReduce", "ncclAllReduce", "ncclGroupEnd", "cudaEventRecord"],
                names.Skip(start).Take(6));
            // The device was set before the group, on this rank's ordinal.
            Assert.Equal("cudaSetDevice", names[start - 1]);
        }
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_pass_a_non_blocking_versioned_config_and_the_specs_unique_id_to_every_rank()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        string id = factory.NewUniqueId();
        Ranks(factory, Spec(4, 2, 10, id), (rank, group) => 0);
        var expected = Convert.FromBase64String(id);
        Assert.Equal(2, nccl.InitIds.Count);
        Assert.All(nccl.InitIds.Values, bytes => Assert.Equal(expected, bytes));
        Assert.All(nccl.InitConfigs.Values, config =>
        {
            Assert.Equal(40u, (uint)config.Size);
            Assert.Equal(0xcafebeefu, config.Magic);
            Assert.Equal(21700u, config.Version);
            Assert.Equal(0, config.Blocking);
            Assert.Equal(int.MinValue, config.CgaClusterSize);
        });
        // Both ranks destroyed their communicator in good order at the end of the epoch.
        Assert.Equal(2, nccl.Calls.Count(c => c.Name == "ncclCommDestroy"));
        Assert.DoesNotContain(nccl.Calls, c => c.Name == "ncclCommAbort");
    }

    [Fact]
    public void Should_time_out_and_abort_within_the_deadline_when_the_operations_never_complete()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        using var group = factory.JoinOn(Spec(1, 1, 0.3, factory.NewUniqueId()), 0, 0, CPU);
        nccl.Mode = FakeNccl.Behaviour.OperationsNeverComplete;
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<CollectiveTimeoutException>(() => group.AllReduceSum([ones(8)], "stuck"));
        clock.Stop();
        Assert.Equal("stuck", error.Operation);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.29, 3.0);
        Assert.True(group.IsAborted);
        Assert.Single(nccl.Calls, c => c.Name == "ncclCommAbort");
        // Later calls fail at once, naming the time-out, and never touch the aborted communicator.
        var later = Assert.Throws<CollectiveAbortedException>(() => group.Barrier());
        Assert.Contains("stuck", later.Reason);
        group.Dispose();
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_abort_from_the_watchdog_when_a_native_call_blocks_past_the_deadline()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        using var group = factory.JoinOn(Spec(1, 1, 0.3, factory.NewUniqueId()), 0, 0, CPU);
        nccl.Mode = FakeNccl.Behaviour.GroupEndBlocksUntilAbort;
        int deviceThread = Environment.CurrentManagedThreadId;
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<CollectiveTimeoutException>(() => group.AllReduceSum([ones(8)], "blocked"));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.29, 3.0);
        Assert.Equal("blocked", error.Operation);
        // The abort came from another thread: the device thread was inside ncclGroupEnd.
        var abort = Assert.Single(nccl.Calls, c => c.Name == "ncclCommAbort");
        Assert.NotEqual(deviceThread, abort.Thread);
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_close_the_nccl_group_before_aborting_when_an_enqueue_fails()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        using var group = factory.JoinOn(Spec(1, 1, 5, factory.NewUniqueId()), 0, 0, CPU);
        nccl.Mode = FakeNccl.Behaviour.EnqueueFails;
        var error = Assert.Throws<CollectiveAbortedException>(() => group.AllReduceSum([ones(2), ones(3)], "refused"));
        Assert.Contains("ncclAllReduce returned InvalidUsage", error.Reason);
        Assert.True(group.IsAborted);
        var names = nccl.Calls.Select(c => c.Name).ToList();
        Assert.True(names.LastIndexOf("ncclGroupEnd") < names.IndexOf("ncclCommAbort"), string.Join(" ", names));
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public async Task Should_wake_a_waiting_rank_with_the_reason_when_aborted_from_another_thread()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        using var group = factory.JoinOn(Spec(3, 1, 30, factory.NewUniqueId()), 0, 0, CPU);
        nccl.Mode = FakeNccl.Behaviour.OperationsNeverComplete;
        var clock = Stopwatch.StartNew();
        var waiting = Task.Run(() => Assert.Throws<CollectiveAbortedException>(() => group.AllReduceSum([ones(8)], "waiting")));
        Assert.True(Poll.Until(() => nccl.Calls.Any(c => c.Name == "cudaEventRecord"), 10), "the rank never started waiting");
        factory.Abort(3, "membership changed");
        var error = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("membership changed", error.Reason);
        Assert.Equal(3, error.Epoch);
        Assert.True(clock.Elapsed.TotalSeconds < 10, "woke only near the 30 s time-out");
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_time_out_joining_when_the_second_rank_never_joins_and_then_form_a_new_communicator()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<CollectiveTimeoutException>(() => factory.JoinOn(Spec(1, 2, 0.3, factory.NewUniqueId()), 0, 0, CPU));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.29, 3.0);
        Assert.Equal([1], error.MissingRanks);
        var first = Assert.Single(nccl.Calls, c => c.Name == "ncclCommInitRankConfig").Comm;
        Assert.Equal(first, Assert.Single(nccl.Calls, c => c.Name == "ncclCommAbort").Comm);

        // The next epoch's communicator (one rank) is a new one and works.
        using var group = factory.JoinOn(Spec(2, 1, 5, factory.NewUniqueId()), 0, 0, CPU);
        var t = full([4], 2.5f);
        group.AllReduceSum([t]);
        TensorAssert.Equal(t, full([4], 2.5f), "1-rank sum");
        var inits = nccl.Calls.Where(c => c.Name == "ncclCommInitRankConfig").Select(c => c.Comm).ToList();
        Assert.Equal(2, inits.Count);
        Assert.NotEqual(inits[0], inits[1]);
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_abort_the_old_epochs_communicator_and_refuse_older_epochs_when_a_newer_epoch_is_joined()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        var old = factory.JoinOn(Spec(5, 1, 5, factory.NewUniqueId()), 0, 0, CPU);
        using var current = factory.JoinOn(Spec(6, 1, 5, factory.NewUniqueId()), 0, 0, CPU);
        Assert.True(old.IsAborted);
        var error = Assert.Throws<CollectiveAbortedException>(() => old.AllReduceSum([ones(2)]));
        Assert.Contains("epoch 6", error.Reason);
        Assert.Throws<CollectiveAbortedException>(() => factory.JoinOn(Spec(5, 1, 5, factory.NewUniqueId()), 0, 0, CPU));
        // An epoch aborted before anyone joined it is born aborted.
        factory.Abort(7, "node lost");
        Assert.Throws<CollectiveAbortedException>(() => factory.JoinOn(Spec(7, 1, 5, factory.NewUniqueId()), 0, 0, CPU));
        current.AllReduceSum([ones(2)]);
        Assert.Equal(6, current.Epoch);
        Assert.Empty(nccl.Violations);
    }

    [Fact]
    public void Should_tell_specs_apart_by_their_unique_id_so_ranks_with_different_ids_never_match()
    {
        string id = Convert.ToBase64String(new byte[128]);
        var a = Spec(1, 2, 5, id);
        var b = Spec(1, 2, 5, id);
        var other = Spec(1, 2, 5, Convert.ToBase64String(Enumerable.Repeat((byte)1, 128).ToArray()));
        var none = Spec(1, 2, 5, null);
        Assert.Equal(a, b);
        Assert.Equal(a.Fingerprint(), b.Fingerprint());
        Assert.NotEqual(a, other);
        Assert.NotEqual(a.Fingerprint(), other.Fingerprint());
        Assert.NotEqual(a, none);
        Assert.NotEqual(a.Fingerprint(), none.Fingerprint());
    }

    [Fact]
    public void Should_refuse_a_spec_without_a_usable_unique_id_naming_the_problem()
    {
        using var factory = Factory(new FakeNccl());
        var missing = Assert.Throws<ArgumentException>(() => factory.JoinOn(Spec(1, 1, 5, null), 0, 0, CPU));
        Assert.Contains("no NCCL unique id", missing.Message);
        var shortId = Assert.Throws<ArgumentException>(() => factory.JoinOn(Spec(1, 1, 5, Convert.ToBase64String(new byte[16])), 0, 0, CPU));
        Assert.Contains("128 bytes", shortId.Message);
        Assert.Throws<ArgumentException>(() => factory.JoinOn(Spec(1, 1, 5, "not base64!"), 0, 0, CPU));
    }

    [Fact]
    public void Should_refuse_tensors_it_cannot_reduce_before_touching_the_communicator()
    {
        var nccl = new FakeNccl();
        using var factory = Factory(nccl);
        using var group = factory.JoinOn(Spec(1, 1, 5, factory.NewUniqueId()), 0, 0, CPU);
        var strided = ones(4, 4).t();
        Assert.Contains("not contiguous", Assert.Throws<ArgumentException>(() => group.AllReduceSum([ones(2), strided], "sum")).Message);
        Assert.Contains("Bool", Assert.Throws<ArgumentException>(() => group.AllReduceSum([ones(2, dtype: @bool)], "sum")).Message);
        Assert.DoesNotContain(nccl.Calls, c => c.Name == "ncclAllReduce");
        Assert.False(group.IsAborted);
    }
}
