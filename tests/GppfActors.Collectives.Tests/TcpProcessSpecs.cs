using System.Diagnostics;
using GppfActors.Collectives.Tests.Support;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

/// <summary>Groups whose members are real OS processes: this test process and children running the ring-member helper.</summary>
public class TcpProcessSpecs
{
    [Fact]
    public void Should_equal_the_float64_reference_when_two_processes_hold_two_ranks_each()
    {
        // Ranks 0 and 1 in this process, ranks 2 and 3 in a child; sizes on both sides of the
        // small-payload limit and across several segments.
        long[] sizes = [1000, 40_000, 700_001];
        var outDir = Directory.CreateTempSubdirectory("gppf-ring-").FullName;
        try
        {
            using var child = RingMemberProcess.Start("child", "sum", outDir, string.Join(",", sizes));
            using var node = new CollectiveNode(new CollectiveNodeOptions { ProcessId = "test" });
            var spec = new GroupSpec(1, 30,
            [
                new GroupMember(0, node.ProcessId, node.Endpoint),
                new GroupMember(1, node.ProcessId, node.Endpoint),
                new GroupMember(2, "child", child.Endpoint),
                new GroupMember(3, "child", child.Endpoint),
            ]);
            child.SendSpec(spec);
            var here = new Tensor[2][];
            var errors = new Exception?[2];
            var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
            {
                try
                {
                    using var group = node.Join(spec, rank);
                    here[rank] = sizes.Select(n =>
                    {
                        var t = Inputs.Random(rank, n, float32);
                        group.AllReduceSum([t], $"sum {n}");
                        return t;
                    }).ToArray();
                    group.Barrier("written");
                }
                catch (Exception e)
                {
                    errors[rank] = e;
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a rank of this process hangs"));
            Assert.All(errors, Assert.Null);
            Assert.Equal("done", child.WaitForAnyLine(TimeSpan.FromSeconds(30), "done", "failed"));

            for (int i = 0; i < sizes.Length; i++)
            {
                long n = sizes[i];
                var reference = Inputs.Float64Sum(Enumerable.Range(0, 4).Select(r => Inputs.Random(r, n, float32)), float32);
                var results = new[] { here[0][i], here[1][i], Load(outDir, 2, n), Load(outDir, 3, n) };
                for (int r = 0; r < 4; r++)
                {
                    TensorAssert.Close(results[r], reference, rtol: 1e-6, what: $"rank {r}, n={n}");
                    TensorAssert.Equal(results[r], results[0], $"rank {r}, n={n}: differs from rank 0");
                }
            }
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void Should_fail_the_survivors_promptly_when_a_member_is_killed_mid_ring()
    {
        // Three processes loop 8 MiB all-reduces: rank 0 here, ranks 1 and 2 in children. Rank 2
        // is killed with SIGKILL while the ring is busy. The time-out is 60 s, so failing within
        // seconds means the closed connection was noticed, not the time-out.
        const long numel = 2 << 20;
        using var member1 = RingMemberProcess.Start("member-1", "loop", numel.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var member2 = RingMemberProcess.Start("member-2", "loop", numel.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var node = new CollectiveNode(new CollectiveNodeOptions { ProcessId = "test" });
        var spec = new GroupSpec(1, 60,
        [
            new GroupMember(0, node.ProcessId, node.Endpoint),
            new GroupMember(1, "member-1", member1.Endpoint),
            new GroupMember(2, "member-2", member2.Endpoint),
        ]);
        member1.SendSpec(spec);
        member2.SendSpec(spec);

        using var running = new ManualResetEventSlim();
        long failedAt = 0;
        Exception? error = null;
        int completed = 0;
        var rank0 = new Thread(() =>
        {
            try
            {
                using var group = node.Join(spec, 0);
                var t = ones(numel);
                while (true)
                {
                    group.AllReduceSum([t], "loop");
                    if (Interlocked.Increment(ref completed) == 3)
                    {
                        running.Set();
                    }
                }
            }
            catch (Exception e)
            {
                failedAt = Stopwatch.GetTimestamp();
                error = e;
            }
        });
        rank0.Start();
        Assert.True(running.Wait(TimeSpan.FromSeconds(60)), $"the ring never got going: {error}");

        long killedAt = Stopwatch.GetTimestamp();
        member2.Kill();

        Assert.True(rank0.Join(TimeSpan.FromSeconds(30)), "rank 0 hangs after a member was killed");
        Assert.IsAssignableFrom<CollectiveException>(error);
        Assert.InRange(Stopwatch.GetElapsedTime(killedAt, failedAt), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        var survivor = member1.WaitForAnyLine(TimeSpan.FromSeconds(10), "failed", "done");
        Assert.StartsWith("failed Collective", survivor);
        Assert.True(member1.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, member1.ExitCode);
        Assert.Contains("member-2", error!.Message + survivor);
    }

    private static Tensor Load(string dir, int rank, long n)
    {
        var t = empty(n, dtype: float32);
        File.ReadAllBytes(Path.Combine(dir, $"rank{rank}-{n}.bin")).CopyTo(t.bytes);
        return t;
    }
}
