using System.Text.Json;
using GppfActors.Collectives;
using GppfActors.Collectives.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

// Hosts this process's ranks of one group. Protocol on the standard streams, one line each:
// it prints "endpoint <host:port>", reads the group spec as JSON, runs the scenario, and prints
// "done" (exit 0) or "failed <exception type> <message>" (exit 3).
//   sum <outDir> <sizes>  every local rank all-reduces Inputs.Random(rank, n) for each n of the
//                         comma-separated sizes and writes the results to <outDir>/rank<r>-<n>.bin
//   loop <numel>          the local rank all-reduces <numel> float32 values until it fails,
//                         printing "op <k>" after each
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: GppfActors.Collectives.RingMember <processId> sum <outDir> <sizes> | loop <numel>");
    return 2;
}
torch.set_num_threads(1);
using var node = new CollectiveNode(new CollectiveNodeOptions { ProcessId = args[0] });
Console.WriteLine($"endpoint {node.Endpoint}");
var spec = JsonSerializer.Deserialize<GroupSpec>(Console.ReadLine() ?? "")
    ?? throw new InvalidDataException("no group spec on standard input");
var ranks = spec.RanksOf(node.ProcessId);
var errors = new Exception?[ranks.Count];
var threads = ranks.Select((rank, i) => new Thread(() =>
{
    try
    {
        using var group = node.Join(spec, rank);
        if (args[1] == "sum")
        {
            foreach (var n in args[3].Split(',').Select(long.Parse))
            {
                var t = Inputs.Random(rank, n, float32);
                group.AllReduceSum([t], $"sum {n}");
                File.WriteAllBytes(Path.Combine(args[2], $"rank{rank}-{n}.bin"), t.bytes.ToArray());
            }
            group.Barrier("written");
        }
        else
        {
            var t = ones(long.Parse(args[2]));
            for (long k = 1; ; k++)
            {
                group.AllReduceSum([t], "loop");
                Console.WriteLine($"op {k}");
            }
        }
    }
    catch (Exception e)
    {
        errors[i] = e;
    }
})
{ Name = $"rank-{rank}" }).ToList();
threads.ForEach(t => t.Start());
threads.ForEach(t => t.Join());
if (errors.FirstOrDefault(e => e is not null) is { } error)
{
    Console.WriteLine($"failed {error.GetType().Name} {error.Message.ReplaceLineEndings(" ")}");
    return 3;
}
Console.WriteLine("done");
return 0;
