using GppfActors.Actors.Coordinator;
using Xunit;

namespace GppfActors.Actors.Tests.Coordinator;

public class BudgetSpecs
{
    [Fact]
    public void Should_allow_a_step_its_retries_and_no_more_and_start_afresh_for_the_next_step()
    {
        var retries = new StepRetries(2);
        Assert.True(retries.Discarded(7));
        Assert.True(retries.Discarded(7));
        Assert.False(retries.Discarded(7));
        Assert.Equal(3, retries.Attempts);
        Assert.True(retries.Discarded(8));
        Assert.Equal(1, retries.Attempts);
        Assert.False(new StepRetries(0).Discarded(1));
    }

    [Fact]
    public void Should_stop_after_the_configured_number_of_non_finite_steps_in_a_row()
    {
        var guard = new NonFiniteGuard(3);
        Assert.True(guard.Skipped());
        Assert.True(guard.Skipped());
        guard.Applied();
        Assert.True(guard.Skipped());
        Assert.True(guard.Skipped());
        Assert.False(guard.Skipped());
        Assert.Equal(5, guard.Total);
        Assert.Equal(3, guard.Consecutive);
    }
}
