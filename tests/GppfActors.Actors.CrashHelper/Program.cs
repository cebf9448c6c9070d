using GppfActors.Actors.Checkpointing;
using static TorchSharp.torch;

// Writes the checkpoints of steps 1..N under a root, each with tensors whose values are a function
// of the step, so the parent test can check any surviving checkpoint holds exactly its own step.
// Usage: GppfActors.Actors.CrashHelper <root> <numSteps>; GPPF_CRASH_AT picks where it dies.
if (args.Length != 2 || !int.TryParse(args[1], out var numSteps) || numSteps < 1)
{
    Console.Error.WriteLine("usage: GppfActors.Actors.CrashHelper <root> <numSteps>");
    return 2;
}
var root = args[0];
var writer = new CheckpointWriter(EnvironmentCrashInjector.FromEnvironment());
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
        """{"run":"crash-helper"}""");
    var record = writer.Write(root, payload);
    Console.WriteLine($"wrote step {record.Step} at {record.Directory}");
}
return 0;
