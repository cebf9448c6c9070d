using Akka.Actor;

namespace GppfActors.Actors.Schedule;

/// <summary>Learning rate (warm-up + cosine) and Gumbel temperature per step, and schedule changes; child of the coordinator.</summary>
public sealed class ScheduleManager : ReceiveActor
{
    private readonly ScheduleState state;

    public ScheduleManager(ScheduleState state)
    {
        this.state = state;
        Receive<GetSchedule>(m => Sender.Tell(new ScheduleAt(m.Step, state.LrAt(m.Step), state.TauAt(m.Step), state.ToJson())));
        Receive<ChangeBaseLr>(Handle);
        Receive<GetScheduleState>(_ => Sender.Tell(new ScheduleStateJson(state.ToJson())));
        Receive<RestoreScheduleState>(m => state.LoadJson(m.Json));
    }

    public static Props Props(ScheduleState state) => Akka.Actor.Props.Create(() => new ScheduleManager(state));

    private void Handle(ChangeBaseLr message)
    {
        try
        {
            state.Apply(new LrChange(message.FromStep, message.BaseLr));
            Sender.Tell(new ScheduleChanged(message.FromStep, message.BaseLr));
        }
        catch (ArgumentException e)
        {
            Sender.Tell(new ScheduleChangeRejected(e.Message));
        }
    }
}
