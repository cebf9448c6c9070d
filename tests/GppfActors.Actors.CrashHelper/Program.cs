using Akka.Actor;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using static TorchSharp.torch;

// Writes the checkpoints of steps 1..N under a root, each with tensors whose values are a function
// of the step, so the parent test can check any surviving checkpoint holds exactly its own step.
// With --journal DB each checkpoint is also committed through the checkpoint journal on that
// SQLite file before the next is written, as the coordinator does.
// Usage: GppfActors.Actors.CrashHelper <root> <numSteps> [--journal <db>]; GPPF_CRASH_AT picks where it dies.
if (args.Length is not (2 or 4) || !int.TryParse(args[1], out var numSteps) || numSteps < 1 || (args.Length == 4 && args[2] != "--journal"))
{
    Console.Error.WriteLine("usage: GppfActors.Actors.CrashHelper <root> <numSteps> [--journal <db>]");
    return 2;
}
var root = args[0];
var crashes = EnvironmentCrashInjector.FromEnvironment();
var writer = new CheckpointWriter(crashes);
using var system = args.Length == 4
    ? ActorSystem.Create("crash-helper", CheckpointJournalConfig.Sqlite(args[3]).WithFallback(ActorSystemConfig.Base))
    : null;
var journal = system?.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor("crash-helper"), new RetentionPolicy(100, 0), crashes));
for (var step = 1L; step <= numSteps; step++)
{
    using var scope = NewDisposeScope();
    using var payload = new CheckpointPayload(
        step,
        epoch: 1,
        new Dictionary<string, Tensor> { ["layer.weight"] = arange(12, ScalarType.Float32).reshape(3, 4) * step },
        new Dictionary<string, Tensor> { ["state.0.momentum_buffer"] = full(new long[] { 3, 4 }, (double)step, ScalarType.Float32) },
        $$"""{"lr":{{step}}}""",
        $$"""{"cursor":{{step}}}""",
        """{"name":"crash-helper"}""");
    var record = writer.Write(root, payload);
    Console.WriteLine($"wrote step {record.Step} at {record.Directory}");
    if (journal is not null)
    {
        var answer = await journal.Ask<object>(new CommitCheckpoint(record), TimeSpan.FromSeconds(30));
        if (answer is not CheckpointCommitted)
        {
            Console.Error.WriteLine($"commit of step {step} refused: {answer}");
            return 1;
        }
        Console.WriteLine($"committed step {step}");
        crashes.Hit(CrashPoints.AfterJournal, step);
    }
}
return 0;
