using GppfActors.Model.Fusion;
using GppfActors.Model.Network;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Fusion;

/// <summary>
/// Task-average fusion over 3 devices and 2 tasks (device 0: a, device 1: b, device 2: a) against
/// a hand-computed reference: each device's gradients computed alone on its own copy, then
/// averaged per parameter over the devices that used it.
/// </summary>
public class TaskAverageFusionSpecs
{
    private static readonly string[] TaskOf = ["a", "b", "a"];

    // Both controllers strongly prefer unit 0 in the last layer, so in hard mode its unit 1 is
    // chosen by nobody and must end the step without a gradient.
    private static GppfNetwork Replica()
    {
        var net = Nets.Tiny(2, seed: 4, ("a", 3), ("b", 5));
        using var _ = no_grad();
        foreach (var task in net.TaskNames)
        {
            net.Controller(task).Logits[2].copy_(tensor(new[] { 8f, -8f }));
        }
        return net;
    }

    private static (Tensor X, Tensor Y) Batch(int device)
    {
        using var g = new Generator((ulong)(30 + device));
        int batch = 2 + device;                  // unequal batch sizes: a task average, not a sample average
        int size = device == 1 ? 12 : 8;         // task b has a different input size
        var x = randn(new long[] { batch, 3, size, size }, generator: g);
        var y = randint(0, TaskOf[device] == "a" ? 3 : 5, new long[] { batch }, generator: g);
        return (x, y);
    }

    private static RouteRequest Request(RoutingMode mode, int device) => new(mode, 1.0, 77, 5, device);

    // Local gradients of one device, computed alone (BN uses the device's own batch statistics).
    private static Dictionary<string, Tensor> LocalGradients(RoutingMode mode, int device)
    {
        var net = Replica();
        var (x, y) = Batch(device);
        nn.functional.cross_entropy(net.Forward(TaskOf[device], x, Request(mode, device)), y).backward();
        return net.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_average_each_parameter_over_the_devices_that_used_it(RoutingMode mode)
    {
        var local = Enumerable.Range(0, 3).Select(d => LocalGradients(mode, d)).ToArray();

        var fused = Devices.Run(3, (rank, group) =>
        {
            var net = Replica();
            var (x, y) = Batch(rank);
            nn.functional.cross_entropy(net.Forward(TaskOf[rank], x, Request(mode, rank)), y).backward();
            using var fusion = new TaskAverageFusion();
            var parameters = net.ParametersForTasks(["a", "b"]);
            var result = fusion.Fuse(group, parameters);
            var grads = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad?.clone());
            return (result, grads);
        });

        var names = fused[0].grads.Keys.ToList();
        int checkedAverages = 0, checkedUnused = 0;
        foreach (var name in names)
        {
            var users = Enumerable.Range(0, 3).Where(d => local[d].ContainsKey(name)).ToArray();
            for (int d = 0; d < 3; d++)
            {
                var got = fused[d].grads[name];
                if (users.Length == 0)
                {
                    Assert.Null(got);
                    checkedUnused++;
                    continue;
                }
                var expected = users.Select(u => local[u][name]).Aggregate((p, q) => p + q) / users.Length;
                Assert.NotNull(got);
                TensorAssert.Close(got, expected, rtol: 1e-5, what: $"{name} on device {d} (used by {users.Length})");
                checkedAverages++;
            }
        }
        Assert.True(checkedAverages > 0);

        // The head of b is used by device 1 alone; the head of a by devices 0 and 2.
        var counts = fused[0].result.UsedCounts;
        var parameterNames = Replica().ParametersForTasks(["a", "b"]).Select(p => p.Name).ToList();
        Assert.Equal(2f, counts[parameterNames.IndexOf("heads.a.fc.weight")]);
        Assert.Equal(1f, counts[parameterNames.IndexOf("heads.b.fc.weight")]);
        Assert.Equal(2f, counts[parameterNames.IndexOf("controllers.a.logits")]);
        if (mode == RoutingMode.Soft)
        {
            Assert.All(parameterNames.Where(n => n.StartsWith("backbone.", StringComparison.Ordinal)),
                n => Assert.Equal(3f, counts[parameterNames.IndexOf(n)]));
        }
        else
        {
            // Hard mode: units no device chose have count 0 and stay without gradient.
            Assert.True(checkedUnused > 0, "hard mode should leave some units unused by every device");
        }
    }

    [Fact]
    public void Should_leave_parameters_of_tasks_outside_the_step_untouched()
    {
        var fused = Devices.Run(2, (rank, group) =>
        {
            var net = Replica();
            var (x, y) = Batch(0);
            nn.functional.cross_entropy(net.Forward("a", x, Request(RoutingMode.Soft, rank)), y).backward();
            using var fusion = new TaskAverageFusion();
            var result = fusion.Fuse(group, net.ParametersForTasks(["a"]));
            return (result, headB: net.Head("b").parameters().Select(p => p.grad).ToArray());
        });
        Assert.All(fused, f => Assert.All(f.headB, Assert.Null));
        Assert.DoesNotContain(Replica().ParametersForTasks(["a"]), p => p.Name.Contains(".b.", StringComparison.Ordinal));
        Assert.Equal(fused[0].result.NumParameters, fused[0].result.NumUpdated);
    }

    [Theory]
    [InlineData(RoutingMode.Soft, false)]
    [InlineData(RoutingMode.Hard, false)]
    [InlineData(RoutingMode.Hard, true)]
    public void Should_fuse_in_place_to_the_same_bytes_as_the_packed_fusion(RoutingMode mode, bool deviceTwoNotFinite)
    {
        (FusionResult Result, Dictionary<string, Tensor?> Grads, float[] Side)[] FuseOnEveryDevice(bool inPlace) => Devices.Run(3, (rank, group) =>
        {
            var net = Replica();
            var (x, y) = Batch(rank);
            nn.functional.cross_entropy(net.Forward(TaskOf[rank], x, Request(mode, rank)), y).backward();
            var parameters = net.ParametersForTasks(["a", "b"]);
            var side = new[] { rank + 0.25f, 10f * rank };
            bool notFinite = deviceTwoNotFinite && rank == 2;
            using var fusion = new TaskAverageFusion();
            var result = inPlace ? TaskAverageFusion.FuseInPlace(group, parameters, notFinite, side) : fusion.Fuse(group, parameters, notFinite, side);
            return (result, net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad?.clone()), side);
        });

        var packed = FuseOnEveryDevice(inPlace: false);
        var inPlace = FuseOnEveryDevice(inPlace: true);
        for (int d = 0; d < 3; d++)
        {
            Assert.Equal(packed[d].Result.NumUpdated, inPlace[d].Result.NumUpdated);
            Assert.Equal(packed[d].Result.NonFiniteRanks, inPlace[d].Result.NonFiniteRanks);
            Assert.Equal(packed[d].Result.UsedCounts, inPlace[d].Result.UsedCounts);
            Assert.Equal(packed[d].Side, inPlace[d].Side);
            Assert.Equal(packed[d].Grads.Where(kv => kv.Value is null).Select(kv => kv.Key), inPlace[d].Grads.Where(kv => kv.Value is null).Select(kv => kv.Key));
            StateAssert.BytesEqual(
                packed[d].Grads.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!),
                inPlace[d].Grads.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!), $"gradients on device {d}");
        }
        Assert.Equal(3 * 0.25f + 3, inPlace[0].Side[0]);
        if (deviceTwoNotFinite)
        {
            Assert.Equal(1, inPlace[0].Result.NonFiniteRanks);
            Assert.All(inPlace[0].Grads.Values, Assert.Null);
        }
        else
        {
            Assert.True(inPlace[0].Result.NumUpdated > 0);
        }
    }
}
