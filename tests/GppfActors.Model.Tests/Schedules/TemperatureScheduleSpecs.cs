using GppfActors.Model.Schedules;
using Xunit;

namespace GppfActors.Model.Tests.Schedules;

/// <summary>Known values and validation of the linear Gumbel temperature schedule, using the paper's settings.</summary>
public class TemperatureScheduleSpecs
{
    [Theory]
    [InlineData(0, 5.0)]
    [InlineData(45_000, 4.501)]
    [InlineData(225_000, 2.505)]
    [InlineData(450_000, 0.01)]
    [InlineData(10_000_000, 0.01)]
    public void Should_anneal_linearly_then_hold_when_using_the_paper_schedule(long step, double expected)
    {
        Assert.Equal(expected, TemperatureSchedule.Paper.At(step), 1e-12);
    }

    [Fact]
    public void Should_hit_both_ends_exactly_when_at_step_zero_and_decay_end()
    {
        var paper = TemperatureSchedule.Paper;

        Assert.Equal((5.0, 0.01, 450_000L), (paper.Tau0, paper.TauMin, paper.DecaySteps));
        Assert.Equal(5.0, paper.At(0));
        Assert.Equal(0.01, paper.At(450_000));
        Assert.Equal(0.01, paper.At(449_999), 1e-4);
    }

    [Theory]
    [InlineData(0.0, 0.01, 10, "temperature.tau0 must be finite and > 0, got 0")]
    [InlineData(5.0, 0.0, 10, "temperature.tau_min must be in (0, tau0 = 5], got 0")]
    [InlineData(1.0, 2.0, 10, "temperature.tau_min must be in (0, tau0 = 1], got 2")]
    [InlineData(5.0, 0.01, 0, "temperature.decay_steps must be > 0, got 0")]
    public void Should_throw_naming_the_field_when_invalid(double tau0, double tauMin, long decaySteps, string expectedMessage)
    {
        var schedule = new TemperatureSchedule(tau0, tauMin, decaySteps);

        var error = Assert.Throws<ArgumentException>(schedule.Validate);

        Assert.Equal(expectedMessage, error.Message);
    }

    [Fact]
    public void Should_accept_the_paper_values_when_validating()
    {
        var exception = Record.Exception(TemperatureSchedule.Paper.Validate);

        Assert.Null(exception);
    }
}
