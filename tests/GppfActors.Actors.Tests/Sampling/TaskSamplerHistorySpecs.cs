using GppfActors.Actors.Sampling;
using Xunit;

namespace GppfActors.Actors.Tests.Sampling;

public class TaskSamplerHistorySpecs
{
    private static readonly SampledTask[] Tasks = [new("a", 2.0, 50, 4), new("b", 1.0, 30, 3)];

    private static TaskSamplerHistory Fresh() => new(new TaskSamplerState(Tasks, 11, SamplingMode.Simt));

    private static string Flat(StepDrawn d) => string.Join(" | ", d.Tasks.Zip(d.Indices, (t, i) => $"{t}:{string.Join(",", i)}"));

    [Fact]
    public void Should_hand_out_the_same_samples_when_an_abandoned_step_is_drawn_again()
    {
        var history = Fresh();
        history.Draw(0, 3);
        var first = history.Draw(1, 3);
        // Step 1 is abandoned before dispatch (a device restarted) and drawn again without a rewind.
        var again = history.Draw(1, 3);
        Assert.Equal(Flat(first), Flat(again));

        // ... and the cursors moved exactly once for step 1: step 2 continues where an undisturbed run does.
        var undisturbed = Fresh();
        undisturbed.Draw(0, 3);
        undisturbed.Draw(1, 3);
        Assert.Equal(Flat(undisturbed.Draw(2, 3)), Flat(history.Draw(2, 3)));
    }

    [Fact]
    public void Should_draw_an_abandoned_step_for_a_new_world_size_from_the_cursors_before_its_first_draw()
    {
        var history = Fresh();
        history.Draw(0, 3);
        string before = history.StateBefore(1);
        history.Draw(1, 3);
        var redrawn = history.Draw(1, 2);            // a device left: two devices now

        var reference = new TaskSamplerHistory(new TaskSamplerState(Tasks, 11, SamplingMode.Simt));
        reference.Load(before);
        Assert.Equal(Flat(reference.Draw(1, 2)), Flat(redrawn));
        Assert.Equal(before, history.StateBefore(1));   // a checkpoint of boundary 1 still sees the state before it
    }

    [Fact]
    public void Should_undo_the_draws_of_a_discarded_step_when_rewound()
    {
        var history = Fresh();
        history.Draw(0, 3);
        string before = history.State.ToJson();
        history.Draw(1, 3);
        Assert.True(history.RewindTo(1));
        Assert.Equal(before, history.State.ToJson());
        Assert.False(history.RewindTo(1));
    }

    [Fact]
    public void Should_refuse_a_resumed_state_whose_data_set_size_changed_naming_the_task()
    {
        var saved = Fresh();
        for (long s = 0; s < 10; s++)
        {
            saved.Draw(s, 3);
        }
        var shrunk = new TaskSamplerState([new("a", 2.0, 10, 4), new("b", 1.0, 30, 3)], 11, SamplingMode.Simt);

        var refused = Assert.Throws<ArgumentException>(() => shrunk.LoadJson(saved.State.ToJson()));

        Assert.Contains("tasks.a", refused.Message);
        Assert.Contains("data set now has 10", refused.Message);
    }

    [Fact]
    public void Should_refuse_a_cursor_beyond_the_data_set_in_a_state_without_recorded_sizes()
    {
        // A state written before sizes were recorded: only the cursor tells that the set shrank.
        const string Old = """{"Seed":11,"Mode":0,"Cursors":{"a":{"Epoch":0,"Position":40},"b":{"Epoch":1,"Position":3}}}""";
        var shrunk = new TaskSamplerState([new("a", 2.0, 10, 4), new("b", 1.0, 30, 3)], 11, SamplingMode.Simt);

        Assert.Contains("tasks.a", Assert.Throws<ArgumentException>(() => shrunk.LoadJson(Old)).Message);
        var same = new TaskSamplerState(Tasks, 11, SamplingMode.Simt);
        same.LoadJson(Old);
        Assert.Equal(new TaskCursor(0, 40), same.Cursor("a"));
    }
}
