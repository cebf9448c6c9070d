using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>
/// One small synthetic data set (made with <c>gppf synth</c>), a scratch folder, and undisturbed
/// reference runs (made on first use) shared by a test class.
/// </summary>
public sealed class SyntheticDataFixture : IDisposable
{
    private readonly Dictionary<(long Steps, int Every, string Extra), string> references = [];

    public SyntheticDataFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "gppf-host-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        var synth = GppfProcess.Run(Root, ["synth", "--out", Data, "--seed", "7", "--size", "small"]);
        Assert.True(synth.ExitCode == 0, synth.Output);
    }

    public string Root { get; }

    public string Data => Path.Combine(Root, "data");

    /// <summary>The arguments of a short cpu-small job on the shared data, checkpointing into <paramref name="runDir"/>.</summary>
    public string[] Job(string runDir, long maxSteps, int checkpointEvery, params string[] extra) =>
    [
        "train", "--job", "cpu-small", "--devices", "cpu:2", "--report-every", "1",
        "--set", $"data.root={Data}", "--set", "data.generate_if_missing=false",
        "--set", $"checkpoint.dir={runDir}", "--set", $"checkpoint.every_steps={checkpointEvery}", "--set", "checkpoint.keep_last=1",
        "--set", $"train.max_steps={maxSteps}", "--set", "eval.every_steps=0", "--set", "eval.batches=1",
        "--set", "optimizer.warmup_steps=2", "--set", "routing.tau_decay_steps=20",
        .. extra,
    ];

    /// <summary>
    /// The folder of an undisturbed run of <paramref name="maxSteps"/> steps checkpointing every
    /// <paramref name="every"/> steps and keeping every checkpoint (with <paramref name="extra"/>
    /// arguments): what a disturbed run must equal. Its devices each hold a replica
    /// (<c>train.share_weights=false</c>) while the disturbed runs share one copy of the weights (the
    /// default), so every comparison with it also checks that both modes train the same bytes.
    /// </summary>
    public string Reference(long maxSteps, int every, params string[] extra)
    {
        lock (references)
        {
            var key = (maxSteps, every, string.Join(' ', extra));
            if (!references.TryGetValue(key, out var run))
            {
                run = Path.Combine(Root, $"reference-{maxSteps}-{every}-{references.Count}");
                var result = GppfProcess.Run(Root, Job(run, maxSteps, every, ["--set", "checkpoint.keep_last=1000", "--set", "train.share_weights=false", .. extra]));
                Assert.True(result.ExitCode == 0, result.Output);
                references[key] = run;
            }
            return run;
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
