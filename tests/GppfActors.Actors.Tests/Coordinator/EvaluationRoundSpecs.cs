using GppfActors.Actors.Coordinator;
using Xunit;

namespace GppfActors.Actors.Tests.Coordinator;

public class EvaluationRoundSpecs
{
    private static readonly IReadOnlyList<IReadOnlyList<double>> Routing = [[0.5, 0.5]];

    [Fact]
    public void Should_end_with_every_task_either_evaluated_or_failed_whatever_the_devices_do()
    {
        var round = new EvaluationRound(100, ["cls", "det", "seg"], ["d0", "d1"], now: 0, timeoutSeconds: 60);
        Assert.Equal("d0", round.Assignments["cls"]);
        Assert.Equal("d1", round.Assignments["det"]);
        Assert.Equal("d0", round.Assignments["seg"]);

        round.Completed("cls", new Dictionary<string, double> { ["top1"] = 0.5 }, Routing);
        round.DeviceLost("d1", "d1 restarted");
        Assert.False(round.Done);
        Assert.Empty(round.Expire(59));
        Assert.Equal(["d0"], round.Expire(60));

        Assert.True(round.Done);
        Assert.Equal(["cls"], round.Metrics.Keys);
        Assert.Equal("d1 restarted", round.Failures["det"]);
        Assert.Contains("eval.timeout_seconds", round.Failures["seg"]);
    }

    [Fact]
    public void Should_keep_the_first_outcome_of_a_task()
    {
        var round = new EvaluationRound(1, ["cls"], ["d0"], now: 0, timeoutSeconds: 60);
        round.Failed("cls", "bad image");
        round.Completed("cls", new Dictionary<string, double>(), Routing);
        Assert.True(round.Done);
        Assert.Empty(round.Metrics);
        Assert.Equal("bad image", round.Failures["cls"]);
    }
}
