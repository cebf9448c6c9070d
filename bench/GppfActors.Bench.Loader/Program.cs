using GppfActors.Bench.Loader;

// dotnet run -c Release --project bench/GppfActors.Bench.Loader -- --data DIR [--batch 32] [--seconds 3]
try
{
    var options = BenchOptions.Parse(args);
    LoaderBenchmark.Run(options, Console.Out);
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
