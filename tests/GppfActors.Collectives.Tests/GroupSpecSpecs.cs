using System.Text.Json;
using GppfActors.Collectives.Tests.Support;
using Xunit;

namespace GppfActors.Collectives.Tests;

public class GroupSpecSpecs
{
    private static GroupSpec TwoProcesses(long epoch = 3) => new(epoch, 30,
    [
        new GroupMember(0, "a", "127.0.0.1:5000"),
        new GroupMember(1, "a", "127.0.0.1:5000"),
        new GroupMember(2, "b", "10.0.0.2:5001"),
    ]);

    [Fact]
    public void Should_round_trip_through_json_when_sent_as_data()
    {
        var spec = TwoProcesses();
        var json = JsonSerializer.Serialize(spec);
        var back = JsonSerializer.Deserialize<GroupSpec>(json)!;

        Assert.Equal(spec, back);
        Assert.Equal(spec.Fingerprint(), back.Fingerprint());
        Assert.Equal(3, back.WorldSize);
        Assert.Equal(["a", "b"], back.ProcessOrder());
        Assert.Equal([0, 1], back.RanksOf("a"));
    }

    [Fact]
    public void Should_differ_in_fingerprint_when_any_member_differs()
    {
        var spec = TwoProcesses();
        var moved = spec with { Members = [spec.Members[0], spec.Members[1], spec.Members[2] with { Endpoint = "10.0.0.2:5002" }] };
        Assert.NotEqual(spec, moved);
        Assert.NotEqual(spec.Fingerprint(), moved.Fingerprint());
        Assert.NotEqual(spec.Fingerprint(), TwoProcesses(epoch: 4).Fingerprint());
        Assert.Equal(spec.Fingerprint(), TwoProcesses().Fingerprint());
    }

    public static TheoryData<string, GroupSpec> Invalid => new()
    {
        { "no members", new GroupSpec(1, 30, []) },
        { "rank order", new GroupSpec(1, 30, [new GroupMember(1, "a", "h:1"), new GroupMember(0, "a", "h:1")]) },
        { "no process id", new GroupSpec(1, 30, [new GroupMember(0, " ", "h:1")]) },
        { "two endpoints", new GroupSpec(1, 30, [new GroupMember(0, "a", "h:1"), new GroupMember(1, "a", "h:2")]) },
        { "TimeoutSeconds", new GroupSpec(1, 0, [new GroupMember(0, "a", "h:1")]) },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Should_name_the_problem_when_a_spec_is_invalid(string expectedInMessage, GroupSpec spec)
    {
        var error = Assert.Throws<ArgumentException>(() => spec.Validate());
        Assert.Contains(expectedInMessage, error.Message);
    }

    [Fact]
    public void Should_refuse_to_join_when_the_rank_belongs_to_another_process()
    {
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(1, 10, 0, 1);
        var error = Assert.Throws<ArgumentException>(() => cluster.Nodes[0].Join(spec, 1));
        Assert.Contains("belongs to process 'p1'", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.Nodes[0].Join(spec, 2));
    }

    [Fact]
    public void Should_refuse_a_second_join_when_a_rank_has_joined_its_epoch()
    {
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(1, 10, 0, 0, 1);
        using var first = cluster.Nodes[0].Join(spec, 0);
        Assert.Throws<ArgumentException>(() => cluster.Nodes[0].Join(spec, 0));
        var other = Assert.Throws<CollectiveMismatchException>(() => cluster.Nodes[0].Join(spec with { TimeoutSeconds = 11 }, 1));
        Assert.Contains("different specs", other.Message);
    }

    [Fact]
    public void Should_advertise_an_endpoint_when_bound_to_port_zero()
    {
        using var node = new CollectiveNode(new CollectiveNodeOptions { ProcessId = "solo" });
        Assert.Equal("solo", node.ProcessId);
        Assert.StartsWith("127.0.0.1:", node.Endpoint);
        Assert.NotEqual("127.0.0.1:0", node.Endpoint);
        Assert.Throws<ArgumentException>(() => new CollectiveNode(new CollectiveNodeOptions { BindAddress = "0.0.0.0" }));
    }
}
