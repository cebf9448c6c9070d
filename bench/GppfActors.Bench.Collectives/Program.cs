using GppfActors.Bench.Collectives;

// dotnet run -c Release --project bench/GppfActors.Bench.Collectives [-- --rounds 5]
// (started with "worker <processId>" it is one ring member, driven by the parent over stdin)
if (args.Length == 2 && args[0] == "worker")
{
    return RingWorker.Run(args[1]);
}
int rounds = 5;
if (args.Length == 2 && args[0] == "--rounds" && int.TryParse(args[1], out var r) && r > 0)
{
    rounds = r;
}
else if (args.Length != 0)
{
    Console.Error.WriteLine("usage: gppf-bench-collectives [--rounds N]");
    return 2;
}
AllReduceBenchmark.Run(rounds, Console.Out);
return 0;
