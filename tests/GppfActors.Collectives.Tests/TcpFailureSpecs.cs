using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GppfActors.Collectives.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

/// <summary>Collectives across processes always end: time-outs, aborts, dead or mismatched peers, stale epochs.</summary>
public class TcpFailureSpecs
{
    private const double TimeoutSeconds = 1.5;
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_fail_every_waiting_member_within_the_time_out_naming_the_missing_rank_when_a_member_never_connects(bool processAbsent)
    {
        // Rank 2's process either runs but never joins (its node holds the connection for the
        // epoch it has not joined) or does not exist at all (nothing listens at its endpoint).
        using var cluster = LocalCluster.Start(processAbsent ? 2 : 3);
        var members = new List<GroupMember>
        {
            new(0, cluster.Nodes[0].ProcessId, cluster.Nodes[0].Endpoint),
            new(1, cluster.Nodes[1].ProcessId, cluster.Nodes[1].Endpoint),
            processAbsent ? new(2, "ghost", $"127.0.0.1:{FreePort()}") : new(2, cluster.Nodes[2].ProcessId, cluster.Nodes[2].Endpoint),
        };
        var spec = new GroupSpec(7, TimeoutSeconds, members);

        var outcomes = cluster.RunEach(spec, (rank, group) =>
        {
            group.AllReduceSum([ones(100_000)], "grad-sync");
            return 0;
        }, ranks: [0, 1]);

        foreach (int rank in new[] { 0, 1 })
        {
            var (_, error, elapsed) = outcomes[rank];
            var timeout = Assert.IsType<CollectiveTimeoutException>(error);
            Assert.Equal(7, timeout.Epoch);
            Assert.Equal("grad-sync", timeout.Operation);
            Assert.Equal([2], timeout.MissingRanks);
            Assert.Contains("epoch 7", timeout.Message);
            Assert.InRange(elapsed, TimeSpan.FromSeconds(TimeoutSeconds * 0.9), TimeSpan.FromSeconds(TimeoutSeconds) + Margin);
        }
    }

    [Fact]
    public void Should_name_the_member_that_never_enters_when_the_ring_is_formed()
    {
        // The ring is up (a barrier passed), then rank 2 never enters the all-reduce. Rank 1 waits
        // on data that rank 0 would forward; rank 0 waits on rank 2 itself. Both must name rank 2.
        using var cluster = LocalCluster.Start(3);
        var spec = cluster.Spec(10, TimeoutSeconds, 0, 1, 2);
        var outcomes = cluster.RunEach(spec, (rank, group) =>
        {
            group.Barrier("setup");
            if (rank != 2)
            {
                group.AllReduceSum([ones(200_000)], "grad-sync");
            }
            return 0;
        });

        foreach (int rank in new[] { 0, 1 })
        {
            var (_, error, elapsed) = outcomes[rank];
            Assert.True(error is CollectiveTimeoutException, $"rank {rank}: expected a time-out, got {error}");
            var timeout = (CollectiveTimeoutException)error;
            Assert.Equal([2], timeout.MissingRanks);
            Assert.Equal("grad-sync", timeout.Operation);
            Assert.InRange(elapsed, TimeSpan.FromSeconds(TimeoutSeconds * 0.9), TimeSpan.FromSeconds(TimeoutSeconds) + Margin);
        }
    }

    [Fact]
    public void Should_name_the_global_rank_when_a_local_rank_of_another_process_never_arrives()
    {
        // Two processes with two ranks each; rank 3 (the second rank of process 1) never calls.
        // Its process's hub numbers it 1; everyone must hear of global rank 3.
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(8, TimeoutSeconds, 0, 0, 1, 1);
        var outcomes = cluster.RunEach(spec, (rank, group) =>
        {
            group.AllReduceSum([ones(1000)], "syncbn layer 3");
            return 0;
        }, ranks: [0, 1, 2]);

        foreach (int rank in new[] { 0, 1, 2 })
        {
            var (_, error, elapsed) = outcomes[rank];
            Assert.True(error is CollectiveTimeoutException, $"rank {rank}: expected a time-out, got {error}");
            var timeout = (CollectiveTimeoutException)error;
            Assert.Equal([3], timeout.MissingRanks);
            Assert.Equal("syncbn layer 3", timeout.Operation);
            Assert.InRange(elapsed, TimeSpan.FromSeconds(TimeoutSeconds * 0.9), TimeSpan.FromSeconds(TimeoutSeconds) + Margin);
        }
    }

    [Fact]
    public void Should_wake_local_and_remote_members_at_once_when_aborted_from_another_thread()
    {
        // Ranks 0 and 1 block in a large all-reduce that rank 2 never enters; the test thread
        // aborts the epoch through process 0's node. The time-out (30 s) is far away.
        using var cluster = LocalCluster.Start(3);
        var spec = cluster.Spec(11, 30, 0, 1, 2);
        var entered = new bool[3];
        var failedAt = new long[3];
        var running = cluster.Start(spec, (rank, group) =>
        {
            group.Barrier("setup");   // the ring is formed; rank 2 then never calls the all-reduce
            if (rank == 2)
            {
                return 0;
            }
            Volatile.Write(ref entered[rank], true);
            try
            {
                group.AllReduceSum([ones(2_000_000)], "step 12");
            }
            finally
            {
                failedAt[rank] = Stopwatch.GetTimestamp();
            }
            return 0;
        });
        running.WaitUntilBlocked(r => Volatile.Read(ref entered[r]), 0, 1);
        long abortedAt = Stopwatch.GetTimestamp();
        cluster.Nodes[0].Abort(11, "node-2 left the cluster");
        var outcomes = running.Wait();

        for (int rank = 0; rank < 2; rank++)
        {
            var aborted = Assert.IsType<CollectiveAbortedException>(outcomes[rank].Error);
            Assert.Equal(11, aborted.Epoch);
            Assert.Equal("step 12", aborted.Operation);
            Assert.Contains("node-2 left the cluster", aborted.Message);
            Assert.InRange(Stopwatch.GetElapsedTime(abortedAt, failedAt[rank]), TimeSpan.Zero, TimeSpan.FromSeconds(rank == 0 ? 0.5 : 2));
        }
        // The remote member names the process the abort came from.
        Assert.Contains("process 'p0'", outcomes[1].Error!.Message);
    }

    [Fact]
    public void Should_wake_a_member_blocked_in_a_collective_when_its_group_is_aborted_from_another_thread()
    {
        // Hierarchical: rank 0 leads process 0 and waits on the ring for process 1, rank 1 waits
        // in-process for its leader; rank 2 (process 1) never calls. Another thread aborts
        // through rank 1's handle.
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(12, 30, 0, 0, 1);
        var entered = new bool[3];
        var groups = new ICollectiveGroup?[3];
        var running = cluster.Start(spec, (rank, group) =>
        {
            Volatile.Write(ref groups[rank], group);
            if (rank == 2)
            {
                return 0;
            }
            Volatile.Write(ref entered[rank], true);
            group.AllReduceSum([ones(10)], "syncbn");
            return 0;
        });
        running.WaitUntilBlocked(r => Volatile.Read(ref entered[r]), 0, 1);
        long abortedAt = Stopwatch.GetTimestamp();
        groups[1]!.Abort("device 1 lost");
        var outcomes = running.Wait();

        Assert.InRange(Stopwatch.GetElapsedTime(abortedAt), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        foreach (var outcome in outcomes.Take(2))
        {
            var aborted = Assert.IsType<CollectiveAbortedException>(outcome.Error);
            Assert.Equal("syncbn", aborted.Operation);
            Assert.Contains("device 1 lost", aborted.Message);
        }
    }

    public static TheoryData<string> Mismatches => ["different size", "different operation", "broadcast against all-reduce", "in-process member differs"];

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Should_fail_every_member_with_a_mismatch_when_members_issue_different_collectives(string scenario)
    {
        bool hierarchical = scenario == "in-process member differs";
        using var cluster = LocalCluster.Start(hierarchical ? 2 : 3);
        var spec = hierarchical ? cluster.Spec(13, 10, 0, 0, 1, 1) : cluster.Spec(13, 10, 0, 1, 2);
        var outcomes = cluster.RunEach(spec, (rank, group) =>
        {
            bool odd = rank == (hierarchical ? 1 : 2);
            switch (scenario)
            {
                case "different size":
                    group.AllReduceSum([ones(odd ? 300_000 : 200_000)], "grads");
                    break;
                case "different operation":
                    group.AllReduceSum([ones(4)], odd ? "syncbn layer 2" : "syncbn layer 1");
                    break;
                case "broadcast against all-reduce":
                    if (odd)
                    {
                        group.Broadcast([ones(4)], 0, "weights");
                    }
                    else
                    {
                        group.AllReduceSum([ones(4)], "weights");
                    }
                    break;
                default:
                    group.AllReduceSum([ones(odd ? 5 : 4)], "syncbn layer 1");
                    break;
            }
            return 0;
        });
        foreach (var (_, error, _) in outcomes)
        {
            Assert.True(error is CollectiveMismatchException, $"expected a mismatch, got {error}");
            var mismatch = (CollectiveMismatchException)error;
            Assert.Equal(13, mismatch.Epoch);
            Assert.Contains("rank", mismatch.Detail);
        }
    }

    [Fact]
    public void Should_refuse_a_connection_when_it_is_for_a_stale_epoch_an_unknown_rank_or_another_spec()
    {
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(5, 10, 0, 1);
        cluster.Run(spec, (rank, group) =>
        {
            group.Barrier("formed");
            return 0;
        });
        ulong fingerprint = spec.Fingerprint();
        var node0 = cluster.Nodes[0];

        Assert.Contains("stale epoch 4", Handshake(node0.Endpoint, new Handshake(4, fingerprint, 1, 0, "p1")));
        Assert.Contains("not the ring predecessor", Handshake(node0.Endpoint, new Handshake(5, fingerprint, 7, 0, "p1")));
        Assert.Contains("not the ring predecessor", Handshake(node0.Endpoint, new Handshake(5, fingerprint, 1, 0, "intruder")));
        Assert.Contains("different group spec", Handshake(node0.Endpoint, new Handshake(5, fingerprint + 1, 1, 0, "p1")));
        Assert.Contains("already has a connection", Handshake(node0.Endpoint, new Handshake(5, fingerprint, 1, 0, "p1")));
    }

    [Fact]
    public void Should_fail_a_member_whose_epoch_is_stale_when_its_peer_has_moved_on()
    {
        using var cluster = LocalCluster.Start(2);
        var current = cluster.Spec(5, 10, 0, 1);
        var stale = current with { Epoch = 4 };
        using var ahead = cluster.Nodes[0].Join(current, 0);
        using var behind = cluster.Nodes[1].Join(stale, 1);

        var error = Assert.IsType<CollectiveAbortedException>(Record.Exception(() => behind.Barrier("step 1")));
        Assert.Equal(4, error.Epoch);
        Assert.Contains("refused", error.Message);
        Assert.Contains("stale epoch 4", error.Message);
    }

    [Fact]
    public void Should_release_the_old_epoch_when_a_newer_one_is_joined()
    {
        using var cluster = LocalCluster.Start(2);
        var first = cluster.Run(cluster.Spec(1, 10, 0, 1), (rank, group) =>
        {
            group.Barrier("epoch 1");
            return group;
        });
        var second = cluster.Run(cluster.Spec(2, 10, 0, 1), (rank, group) =>
        {
            var t = full(3, (float)rank);
            group.AllReduceSum([t], "epoch 2");
            return t;
        });

        Assert.All(second, t => Assert.Equal(1f, t[0].item<float>()));
        var old = Assert.IsType<CollectiveAbortedException>(Record.Exception(() => first[0].Barrier("late")));
        Assert.Contains("superseded by epoch 2", old.Message);
        Assert.True(first[1].IsAborted);
        var rejoin = Assert.Throws<CollectiveAbortedException>(() => cluster.Nodes[0].Join(cluster.Spec(1, 10, 0, 1), 0));
        Assert.Contains("older than epoch 2", rejoin.Message);
    }

    [Fact]
    public void Should_start_aborted_when_an_epoch_is_aborted_before_it_is_joined()
    {
        using var cluster = LocalCluster.Start(2);
        cluster.Nodes[0].Abort(9, "coordinator gave up on epoch 9");
        using var group = cluster.Nodes[0].Join(cluster.Spec(9, 10, 0, 1), 0);
        Assert.True(group.IsAborted);
        var error = Assert.Throws<CollectiveAbortedException>(() => group.Barrier("step 1"));
        Assert.Contains("coordinator gave up on epoch 9", error.Message);
    }

    [Fact]
    public void Should_complete_the_last_collective_when_a_peer_leaves_in_good_order_right_after_it()
    {
        // Each process disposes its node the moment its last all-reduce returns; the peer still
        // finishing its own must get everything (bye frames, not a broken connection).
        for (int round = 0; round < 5; round++)
        {
            var nodes = new[] { new CollectiveNode(new() { ProcessId = "a" }), new CollectiveNode(new() { ProcessId = "b" }) };
            var spec = new GroupSpec(1, 10, nodes.Select((n, r) => new GroupMember(r, n.ProcessId, n.Endpoint)).ToList());
            var errors = new Exception?[2];
            var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
            {
                try
                {
                    var group = nodes[rank].Join(spec, rank);
                    for (int i = 0; i < 20; i++)
                    {
                        group.AllReduceSum([ones(i % 2 == 0 ? 10 : 100_000)], $"op {i}");
                    }
                }
                catch (Exception e)
                {
                    errors[rank] = e;
                }
                finally
                {
                    nodes[rank].Dispose();
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));
            Assert.All(errors, Assert.Null);
        }
    }

    private static string Handshake(string endpoint, Handshake handshake)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
        socket.Connect(EndpointText.Resolve(endpoint));
        Wire.SendAll(socket, Wire.EncodeHandshake(handshake));
        var (refusal, failure) = Wire.ReceiveHandshakeReply(socket);
        return refusal ?? (failure is null ? "accepted" : CollectiveFailure.Decode(failure).Describe());
    }

    private static int FreePort()
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
