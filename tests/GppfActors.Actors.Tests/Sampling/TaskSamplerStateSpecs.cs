using GppfActors.Actors.Sampling;
using Xunit;

namespace GppfActors.Actors.Tests.Sampling;

public class TaskSamplerStateSpecs
{
    private static readonly SampledTask[] Paper =
    [
        new("in21k", 4.0, 1000, 96), new("coco", 2.5, 300, 8), new("lvis", 2.5, 300, 8), new("o365", 4.0, 500, 12),
        new("oi", 4.0, 500, 12), new("ade20k", 1.0, 100, 8), new("cocostuff", 2.0, 200, 8), new("voc", 1.0, 100, 8),
    ];

    [Fact]
    public void Should_draw_tasks_in_proportion_to_their_weights_when_simt()
    {
        var sampler = new TaskSamplerState(Paper, 7, SamplingMode.Simt);
        var counts = Paper.ToDictionary(t => t.Name, _ => 0);
        for (long step = 0; step < 5000; step++)
        {
            foreach (var task in sampler.DrawTasks(step, 8))
            {
                counts[task]++;
            }
        }
        double total = Paper.Sum(t => t.Weight);
        foreach (var t in Paper)
        {
            Assert.InRange(counts[t.Name] / 40000.0, t.Weight / total - 0.01, t.Weight / total + 0.01);
        }
        // SIMT: devices of one step usually run different tasks.
        Assert.True(Enumerable.Range(0, 100).Count(s => sampler.DrawTasks(s, 8).Distinct().Count() > 1) > 95);
    }

    [Fact]
    public void Should_give_every_device_the_same_task_when_sampling_per_batch()
    {
        var sampler = new TaskSamplerState(Paper, 7, SamplingMode.PerBatch);
        for (long step = 0; step < 200; step++)
        {
            Assert.Single(sampler.DrawTasks(step, 8).Distinct());
        }
        Assert.True(Enumerable.Range(0, 200).Select(s => sampler.DrawTasks(s, 8)[0]).Distinct().Count() > 4);
    }

    [Fact]
    public void Should_visit_every_sample_once_per_epoch_and_reshuffle_between_epochs()
    {
        var task = new SampledTask("t", 1, 10, 4);
        var sampler = new TaskSamplerState([task], 3, SamplingMode.Simt);
        var seen = Enumerable.Range(0, 5).SelectMany(_ => sampler.TakeIndices(["t"])[0]).ToArray(); // 20 = 2 epochs
        var first = seen.Take(10).ToArray();
        var second = seen.Skip(10).ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), first.Order());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), second.Order());
        Assert.NotEqual(first, second);
        Assert.Equal(new TaskCursor(2, 0), sampler.Cursor("t"));
    }

    [Fact]
    public void Should_continue_with_identical_indices_when_restored_from_json()
    {
        var a = new TaskSamplerState(Paper, 11, SamplingMode.Simt);
        for (long step = 0; step < 37; step++)
        {
            a.TakeIndices(a.DrawTasks(step, 4));
        }
        var b = new TaskSamplerState(Paper, 11, SamplingMode.Simt);
        b.LoadJson(a.ToJson());
        for (long step = 37; step < 80; step++)
        {
            var tasks = a.DrawTasks(step, 4);
            Assert.Equal(tasks, b.DrawTasks(step, 4));
            var peeked = a.PeekIndices(tasks);
            var taken = a.TakeIndices(tasks);
            Assert.Equal(peeked, taken);
            Assert.Equal(taken, b.TakeIndices(tasks));
        }
    }

    [Fact]
    public void Should_name_the_problem_when_the_saved_state_does_not_fit()
    {
        var a = new TaskSamplerState(Paper, 11, SamplingMode.Simt);
        var other = new TaskSamplerState(Paper.Take(3).ToArray(), 11, SamplingMode.Simt);
        var e = Assert.Throws<ArgumentException>(() => other.LoadJson(a.ToJson()));
        Assert.Contains("saved only: [o365", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TaskSamplerState([new SampledTask("x", 0, 1, 1)], 1, SamplingMode.Simt));
        Assert.Contains("tasks.x.sampling_weight", e.Message);
    }
}
