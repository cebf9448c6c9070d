using GppfActors.Model.Schedules;
using Xunit;

namespace GppfActors.Model.Tests.Schedules;

/// <summary>Known values and validation of the warmup-plus-cosine learning-rate schedule.</summary>
public class CosineWarmupScheduleSpecs
{
    // Warmup 10 steps, cosine over the next 100.
    private static readonly CosineWarmupSchedule Schedule = new(BaseLr: 0.1, WarmupSteps: 10, TotalSteps: 110, MinLr: 0.001);

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(4, 0.05)]
    [InlineData(9, 0.1)]
    public void Should_ramp_linearly_when_inside_warmup(long step, double expected)
    {
        Assert.Equal(expected, Schedule.At(step), 1e-15);
    }

    [Theory]
    [InlineData(10, 0.1)]
    [InlineData(60, 0.0505)]
    [InlineData(110, 0.001)]
    [InlineData(1_000_000, 0.001)]
    public void Should_follow_the_cosine_and_clamp_when_past_warmup(long step, double expected)
    {
        Assert.Equal(expected, Schedule.At(step), 1e-15);
    }

    [Fact]
    public void Should_follow_the_cosine_between_known_points_when_a_quarter_through_decay()
    {
        // (step - warmup) / (total - warmup) = 0.25: 0.001 + 0.5 * 0.099 * (1 + cos(pi / 4)).
        var expected = 0.001 + (0.5 * 0.099 * (1 + (Math.Sqrt(2) / 2)));

        Assert.Equal(expected, Schedule.At(35), 1e-15);
    }

    [Fact]
    public void Should_start_at_the_base_rate_when_there_is_no_warmup()
    {
        var schedule = new CosineWarmupSchedule(0.2, WarmupSteps: 0, TotalSteps: 100);

        schedule.Validate();

        Assert.Equal(0.2, schedule.At(0), 1e-15);
        Assert.Equal(0.0, schedule.At(100), 1e-15);
    }

    [Theory]
    [InlineData(0.0, 10, 110, 0.0, "lr_schedule.base_lr must be finite and > 0, got 0")]
    [InlineData(0.1, 10, 110, 0.2, "lr_schedule.min_lr must be in [0, base_lr = 0.1], got 0.2")]
    [InlineData(0.1, -1, 110, 0.0, "lr_schedule.warmup_steps must be >= 0, got -1")]
    [InlineData(0.1, 10, 10, 0.0, "lr_schedule.total_steps must be > warmup_steps = 10, got 10")]
    public void Should_throw_naming_the_field_when_invalid(double baseLr, long warmupSteps, long totalSteps, double minLr, string expectedMessage)
    {
        var schedule = new CosineWarmupSchedule(baseLr, warmupSteps, totalSteps, minLr);

        var error = Assert.Throws<ArgumentException>(schedule.Validate);

        Assert.Equal(expectedMessage, error.Message);
    }

    [Fact]
    public void Should_throw_when_the_step_is_negative()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.At(-1));
    }
}
