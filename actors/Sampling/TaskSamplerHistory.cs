namespace GppfActors.Actors.Sampling;

/// <summary>
/// Makes drawing a step idempotent: the sampler state before the first draw of each recent step is
/// kept, and drawing a step again (its first assignment was abandoned before or after dispatch, for
/// a new world size or the same one) starts from that state, so no data is skipped and a redraw
/// for the same world size hands out exactly the same tasks and samples. Pure; the sampler actor
/// owns one.
/// </summary>
public sealed class TaskSamplerHistory(TaskSamplerState state, int depth = 8)
{
    private readonly SortedDictionary<long, string> before = [];

    /// <summary>The sampler state (cursors as of the newest draw).</summary>
    public TaskSamplerState State { get; } = state;

    /// <summary>Steps whose pre-draw state is kept.</summary>
    public IReadOnlyCollection<long> Remembered => before.Keys;

    /// <summary>
    /// Draws <paramref name="step"/> for <paramref name="worldSize"/> devices: each rank's task and
    /// samples, and the next step's (a prefetch hint; no cursor moves for it).
    /// </summary>
    public StepDrawn Draw(long step, int worldSize)
    {
        if (before.TryGetValue(step, out var json))
        {
            // Drawn before and abandoned: undo that draw and everything after it.
            Restore(step, json);
        }
        else
        {
            if (before.Count > 0 && step < before.Keys.Last())
            {
                throw new InvalidOperationException($"sampler: step {step} is older than the newest drawn step {before.Keys.Last()} and was never drawn");
            }
            json = State.ToJson();
            before[step] = json;
            while (before.Count > depth)
            {
                before.Remove(before.Keys.First());
            }
        }
        var tasks = State.DrawTasks(step, worldSize);
        var indices = State.TakeIndices(tasks);
        var nextTasks = State.DrawTasks(step + 1, worldSize);
        var nextIndices = State.PeekIndices(nextTasks);
        return new StepDrawn(step, tasks, indices, nextTasks, nextIndices, json);
    }

    /// <summary>Undoes every draw from <paramref name="step"/> on; a step never drawn (or forgotten) changes nothing.</summary>
    public bool RewindTo(long step)
    {
        if (!before.TryGetValue(step, out var json))
        {
            return false;
        }
        Restore(step, json);
        before.Remove(step);
        return true;
    }

    /// <summary>The state as of before <paramref name="step"/>'s first draw when it was drawn, else the current state (for a checkpoint of that step).</summary>
    public string StateBefore(long step) => before.TryGetValue(step, out var json) ? json : State.ToJson();

    /// <summary>Replaces the state (resume) and forgets every draw.</summary>
    public void Load(string json)
    {
        State.LoadJson(json);
        before.Clear();
    }

    private void Restore(long step, string json)
    {
        State.LoadJson(json);
        foreach (var later in before.Keys.Where(s => s > step).ToList())
        {
            before.Remove(later);
        }
    }
}
