using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GppfActors.Collectives;
using TorchSharp;
using static TorchSharp.torch;

namespace GppfActors.Bench.Collectives;

/// <summary>
/// One ring member in its own process: prints its endpoint, reads the spec, joins its one rank,
/// then answers "run BYTES ITERS" with the time of each all-reduce (after a barrier, so every
/// member starts together) until "quit".
/// </summary>
internal static class RingWorker
{
    public static int Run(string processId)
    {
        torch.set_num_threads(1);
        using var node = new CollectiveNode(new CollectiveNodeOptions { ProcessId = processId });
        Console.WriteLine($"endpoint {node.Endpoint}");
        var spec = JsonSerializer.Deserialize<GroupSpec>(Console.ReadLine() ?? "") ?? throw new InvalidDataException("no spec");
        using var group = node.Join(spec, spec.RanksOf(processId).Single());
        while (Console.ReadLine() is { } command && command != "quit")
        {
            var parts = command.Split(' ');
            long bytes = long.Parse(parts[1], CultureInfo.InvariantCulture);
            int iterations = int.Parse(parts[2], CultureInfo.InvariantCulture);
            using var t = ones(bytes / 4, dtype: float32);
            group.AllReduceSum([t], "warm-up");
            var times = new double[iterations];
            for (int i = 0; i < iterations; i++)
            {
                group.Barrier("start");
                long started = Stopwatch.GetTimestamp();
                group.AllReduceSum([t], "timed");
                times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
            Console.WriteLine("times " + string.Join(",", times.Select(x => x.ToString("R", CultureInfo.InvariantCulture))));
        }
        return 0;
    }
}
