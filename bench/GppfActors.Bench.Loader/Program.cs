using GppfActors.Bench.Loader;

// dotnet run -c Release --project bench/GppfActors.Bench.Loader -- --data DIR [--batch 32] [--seconds 3]
// dotnet run -c Release --project bench/GppfActors.Bench.Loader -- --index-tree NEW_DIR [--classes 1000] [--files-per-class 1000] [--hard-links]
// dotnet run -c Release --project bench/GppfActors.Bench.Loader -- --instance-masks [--batch 8] [--instances 300] [--output 1024] [--repeats 3]
var indexMode = args.Contains("--index-tree");
var maskMode = args.Contains("--instance-masks");
try
{
    if (indexMode)
    {
        IndexBenchmark.Run(IndexBenchOptions.Parse(args), Console.Out);
    }
    else if (maskMode)
    {
        InstanceMaskBenchmark.Run(InstanceMaskBenchOptions.Parse(args), Console.Out);
    }
    else
    {
        LoaderBenchmark.Run(BenchOptions.Parse(args), Console.Out);
    }
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    Console.Error.WriteLine(indexMode ? IndexBenchOptions.Usage : maskMode ? InstanceMaskBenchOptions.Usage : BenchOptions.Usage);
    return 2;
}
