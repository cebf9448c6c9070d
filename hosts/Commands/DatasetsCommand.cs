using System.CommandLine;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;

namespace GppfActors.Host.Commands;

/// <summary>
/// <c>gppf datasets check</c>: walks every task's data of a job before a run, counting samples and classes per
/// split and listing every problem (missing files, unreadable images, labels out of range) with its file.
/// </summary>
internal static class DatasetsCommand
{
    /// <summary>Exit code when the data has problems.</summary>
    public const int ProblemsFound = 1;

    /// <summary>Exit code when the job itself cannot be read.</summary>
    public const int CannotStart = 2;

    public static Command Create()
    {
        var job = new Option<string>("--job") { Description = $"A preset ({string.Join(", ", JobConfigLoader.Presets)}) or a job JSON file", Required = true };
        var set = new Option<string[]>("--set") { Description = "Override a job setting, e.g. --set data.root=/datasets", AllowMultipleArgumentsPerToken = false };
        var limit = new Option<int?>("--limit") { Description = "Decode at most N samples per split (default: all; every split is still indexed in full)" };
        var check = new Command("check", "Index and decode every task's train and val data; report samples, classes and every problem (exit code 1 when there are any)")
        {
            job, set, limit,
        };
        check.SetAction(parse => Check(parse.GetValue(job)!, parse.GetValue(set) ?? [], parse.GetValue(limit)));
        return new Command("datasets", "Work with a job's data sets") { check };
    }

    private static int Check(string jobName, string[] overrides, int? limit)
    {
        JobConfig job;
        try
        {
            (job, _) = JobConfigLoader.Load(jobName, overrides);
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            Console.Error.WriteLine($"gppf datasets check: {e.Message}");
            return CannotStart;
        }
        if (limit is <= 0)
        {
            Console.Error.WriteLine($"gppf datasets check: --limit must be positive (got {limit})");
            return CannotStart;
        }
        Console.WriteLine($"job '{job.Name}', data.root {Path.GetFullPath(job.Data.Root)}");
        var reports = DatasetCheck.Run(job, limit, job.Data.Workers, Print);
        var problems = reports.Sum(r => r.Problems.Count);
        if (problems == 0)
        {
            Console.WriteLine($"no problems in {reports.Count} splits ({reports.Sum(r => r.NumSamples)} samples)");
            return 0;
        }
        Console.WriteLine($"{problems} problems in {reports.Count(r => r.Problems.Count > 0)} of {reports.Count} splits");
        return ProblemsFound;
    }

    private static void Print(DatasetSplitReport report)
    {
        var classes = report.NumClasses > 0 ? $"{report.ClassesSeen} of {report.NumClasses} classes seen" : "no classes (depth)";
        var checkedPart = report.NumChecked < report.NumSamples ? $" ({report.NumChecked} decoded)" : "";
        Console.WriteLine($"{report.Task}/{report.Split}  {report.Dataset}  {report.NumSamples} samples{checkedPart}, {classes}, {report.Problems.Count} problems");
        foreach (var problem in report.Problems)
        {
            Console.WriteLine($"  problem: {problem}");
        }
    }
}
