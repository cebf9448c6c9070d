using System.Diagnostics;
using System.Globalization;
using GppfActors.Bench.Experiments;
using GppfActors.Testing;

// The paper's claims in miniature (section 4, Table 1; section 3.3): pre-training ablations and
// fine-tuning of a held-out task on the synthetic multi-domain set, each configuration with
// several seeds at an equal step budget; every run is a gppf process. Writes the report (markdown)
// and every run's numbers (CSV).
//
//   dotnet run -c Release --project bench/GppfActors.Bench.Experiments -- [--out docs/experiments.md]
//       [--seeds 1,2,3] [--steps 400] [--finetune-steps 300] [--work DIR] [--keep]
//
// --render CSV --wall-minutes M writes the report again from a finished run's CSV (the same
// --seeds/--steps/--finetune-steps as that run), without training.

var options = Options.Parse(args);
if (options.Render is { } csv)
{
    Report.Write(options, Report.ReadCsv(csv), TimeSpan.FromMinutes(options.WallMinutes));
    Console.WriteLine($"report: {options.Out}");
    return 0;
}
string gppf = BuiltPrograms.Find(typeof(Options).Assembly, "GppfHostAssembly");
string work = options.Work ?? Path.Combine(Path.GetTempPath(), "gppf-experiments-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
var runner = new GppfRunner(gppf, work, Path.Combine(work, "logs"));
var results = new List<RunResult>();
var total = Stopwatch.StartNew();
Console.WriteLine($"work folder {work}; gppf {gppf}");

string data = Path.Combine(work, "data");
if (!Directory.Exists(data))
{
    var synth = runner.Run("synth", ["synth", "--out", data, "--seed", "7", "--size", "small"]);
    if (synth.ExitCode != 0)
    {
        Console.Error.WriteLine($"gppf synth failed: {synth.Tail}");
        return 1;
    }
}

// Pre-training configurations: (label, tasks, --set lines). "alone" runs are a standard network (N = 1).
var pretraining = new List<(string Label, IReadOnlyList<string> Tasks, string[] Sets)>
{
    (Labels.Method, ExperimentJobs.AllTasks, []),
    (Labels.NoSyncBn, ExperimentJobs.AllTasks, ["sync_batch_norm=false"]),
    (Labels.PerBatch, ExperimentJobs.AllTasks, ["sampling.mode=per_batch"]),
    (Labels.Hard, ExperimentJobs.AllTasks, ["routing.mode=hard"]),
    (Labels.Static, ExperimentJobs.AllTasks, ["backbone.num_units=1"]),
};
pretraining.AddRange(ExperimentJobs.AllTasks.Select(t => (Labels.Alone(t), (IReadOnlyList<string>)[t], new[] { "backbone.num_units=1" })));

foreach (ulong seed in options.Seeds)
{
    string jobs = Path.Combine(work, "jobs");
    foreach (var (label, tasks, sets) in pretraining)
    {
        string name = $"{Labels.Slug(label)}-s{seed}";
        string job = ExperimentJobs.Write(jobs, name, seed, data, options.Steps, tasks);
        results.Add(Train(Labels.PretrainingTable, label, seed, name, ["train", "--job", job, .. Sets(sets, name)]));
    }

    // Fine-tuning classification, held out of a pre-training run of the other three families; the
    // related task whose path it takes is detection (the same five shape classes).
    string heldOut = $"heldout-method-s{seed}";
    string heldOutJob = ExperimentJobs.Write(jobs, heldOut, seed, data, options.Steps, [ExperimentJobs.Detection, ExperimentJobs.Segmentation, ExperimentJobs.Depth]);
    results.Add(Train(Labels.HeldOutTable, Labels.HeldOutMethod, seed, heldOut, ["train", "--job", heldOutJob, .. Sets([], heldOut)]));
    string downstreamJob = ExperimentJobs.Write(jobs, $"downstream-s{seed}", seed, data, options.FinetuneSteps, [ExperimentJobs.HeldOut]);
    string singleRelated = Run($"{Labels.Slug(Labels.Alone(ExperimentJobs.Related))}-s{seed}");
    var finetunes = new List<(string Label, string[] Arguments)>
    {
        (Labels.FixedFromJoint, ["finetune", "--from", Run(heldOut), "--path-from", ExperimentJobs.Related]),
        (Labels.Dynamic, ["finetune", "--from", Run(heldOut), "--mode", "dynamic"]),
        (Labels.Retrain, ["finetune", "--from", Run($"ft-{Labels.Slug(Labels.Dynamic)}-s{seed}"), "--retrain"]),
        (Labels.FixedFromSingle, ["finetune", "--from", singleRelated, "--path-from", ExperimentJobs.Related]),
        (Labels.Scratch, ["train", "--set", "backbone.num_units=1"]),
    };
    foreach (var (label, arguments) in finetunes)
    {
        string name = $"ft-{Labels.Slug(label)}-s{seed}";
        results.Add(Train(Labels.FinetuningTable, label, seed, name, [.. arguments, "--job", downstreamJob, .. Sets([], name)]));
    }
    Report.Write(options, results, total.Elapsed);
    Console.WriteLine($"seed {seed} done after {total.Elapsed.TotalMinutes:0.0} min; report: {options.Out}");
}
Report.Write(options, results, total.Elapsed);
if (!options.Keep)
{
    Directory.Delete(work, recursive: true);
}
return 0;

string Run(string name) => Path.Combine(work, "runs", name);

string[] Sets(string[] sets, string name) =>
    [.. sets.SelectMany(s => new[] { "--set", s }), "--set", $"checkpoint.dir={Run(name)}", "--plain", "--report-every", "50"];

RunResult Train(string table, string label, ulong seed, string name, string[] arguments)
{
    var (code, seconds, tail) = runner.Run(name, arguments);
    if (code != 0)
    {
        Console.WriteLine($"{name}: exit {code} after {seconds:0} s: {tail.Split('\n').LastOrDefault()}");
        return new RunResult(table, label, seed, new Dictionary<string, IReadOnlyDictionary<string, double>>(), seconds, $"exit {code}: {Report.Reason(tail)}");
    }
    var metrics = runner.Evaluate(name, Run(name));
    Console.WriteLine($"{name}: {seconds:0} s; " + string.Join("; ", metrics.Select(t => $"{t.Key} " + string.Join(' ', t.Value.Select(m => $"{m.Key} {m.Value.ToString("0.####", CultureInfo.InvariantCulture)}")))));
    return new RunResult(table, label, seed, metrics, seconds, null);
}

/// <summary>The command line: where to write, which seeds, how many steps.</summary>
internal sealed record Options(string Out, IReadOnlyList<ulong> Seeds, long Steps, long FinetuneSteps, string? Work, bool Keep, string? Render = null, double WallMinutes = 0)
{
    public static Options Parse(string[] args)
    {
        var o = new Options("docs/experiments.md", [1, 2, 3], 400, 300, null, false);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--out" => o with { Out = Next() },
                "--seeds" => o with { Seeds = Next().Split(',').Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--steps" => o with { Steps = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--finetune-steps" => o with { FinetuneSteps = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--work" => o with { Work = Next() },
                "--keep" => o with { Keep = true },
                "--render" => o with { Render = Next() },
                "--wall-minutes" => o with { WallMinutes = double.Parse(Next(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]} (--out, --seeds, --steps, --finetune-steps, --work, --keep, --render, --wall-minutes)"),
            };
        }
        return o;
    }
}
