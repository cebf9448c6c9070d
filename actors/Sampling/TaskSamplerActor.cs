using Akka.Actor;

namespace GppfActors.Actors.Sampling;

/// <summary>
/// Hands out each step's task per device and sample indices per task; child of the coordinator.
/// Keeps the state before each recent draw so a discarded step can be drawn again identically.
/// </summary>
public sealed class TaskSamplerActor : ReceiveActor
{
    private readonly TaskSamplerState state;
    private readonly SortedDictionary<long, string> before = [];

    public TaskSamplerActor(TaskSamplerState state)
    {
        this.state = state;
        Receive<DrawStep>(Handle);
        Receive<RewindTo>(Handle);
        Receive<GetSamplerState>(_ => Sender.Tell(new SamplerState(state.ToJson())));
        Receive<RestoreSamplerState>(m =>
        {
            state.LoadJson(m.Json);
            before.Clear();
        });
    }

    public static Props Props(TaskSamplerState state) => Akka.Actor.Props.Create(() => new TaskSamplerActor(state));

    private void Handle(DrawStep message)
    {
        before[message.Step] = state.ToJson();
        while (before.Count > 8)
        {
            before.Remove(before.Keys.First());
        }
        var tasks = state.DrawTasks(message.Step, message.WorldSize);
        var indices = state.TakeIndices(tasks);
        var nextTasks = state.DrawTasks(message.Step + 1, message.WorldSize);
        var nextIndices = state.PeekIndices(nextTasks);
        Sender.Tell(new StepDrawn(message.Step, tasks, indices, nextTasks, nextIndices));
    }

    private void Handle(RewindTo message)
    {
        if (before.TryGetValue(message.Step, out var json))
        {
            state.LoadJson(json);
            foreach (var step in before.Keys.Where(s => s >= message.Step).ToList())
            {
                before.Remove(step);
            }
        }
        Sender.Tell(new Rewound(message.Step));
    }
}
