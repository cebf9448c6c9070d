using Akka.Actor;

namespace GppfActors.Actors.Sampling;

/// <summary>
/// Hands out each step's task per device and sample indices per task; child of the coordinator.
/// Drawing a step is idempotent (<see cref="TaskSamplerHistory"/>): a step drawn again after its
/// first assignment was abandoned starts from the same cursors.
/// </summary>
public sealed class TaskSamplerActor : ReceiveActor
{
    private readonly TaskSamplerHistory history;

    public TaskSamplerActor(TaskSamplerState state)
    {
        history = new TaskSamplerHistory(state);
        Receive<DrawStep>(m => Sender.Tell(history.Draw(m.Step, m.WorldSize)));
        Receive<RewindTo>(m =>
        {
            history.RewindTo(m.Step);
            Sender.Tell(new Rewound(m.Step));
        });
        Receive<GetSamplerState>(m => Sender.Tell(new SamplerState(history.StateBefore(m.Step))));
        Receive<RestoreSamplerState>(m => history.Load(m.Json));
    }

    public static Props Props(TaskSamplerState state) => Akka.Actor.Props.Create(() => new TaskSamplerActor(state));
}
