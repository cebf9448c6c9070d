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

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(1, 0.875)]
    [InlineData(2, 0.75)]
    [InlineData(3, 0.625)]
    [InlineData(4, 0.5)]
    [InlineData(5, 0.5)]
    [InlineData(1_000, 0.5)]
    public void Should_step_down_by_equal_exact_amounts_then_hold_when_the_schedule_is_short(long step, double expected)
    {
        // 1.0 to 0.5 over 4 steps: -0.125 per step, every value exact in binary, so equality is exact.
        var schedule = new TemperatureSchedule(1.0, 0.5, 4);

        Assert.Equal(expected, schedule.At(step));
    }

    [Fact]
    public void Should_fall_by_the_same_amount_every_step_when_between_the_ends()
    {
        var paper = TemperatureSchedule.Paper;
        var perStep = (0.01 - 5.0) / 450_000;

        foreach (var step in new long[] { 0, 1, 12_345, 225_000, 449_998 })
        {
            Assert.Equal(perStep, paper.At(step + 1) - paper.At(step), 1e-12);
        }
        Assert.Equal(0.0, paper.At(450_001) - paper.At(450_000));
    }

    [Fact]
    public void Should_accept_and_hold_a_constant_temperature_when_tau_min_equals_tau0()
    {
        // The boundary of "tau_min in (0, tau0]": a fixed temperature is a legitimate ablation.
        var constant = new TemperatureSchedule(2.0, 2.0, 10);

        constant.Validate();

        Assert.Equal([2.0, 2.0, 2.0, 2.0], new long[] { 0, 5, 10, 11 }.Select(constant.At));
    }

    [Fact]
    public void Should_refuse_a_negative_step_when_asked_for_a_temperature()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.Paper.At(-1));
    }
}
