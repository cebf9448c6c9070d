using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>One small synthetic data set (made with <c>gppf synth</c>) and a scratch folder shared by a test class.</summary>
public sealed class SyntheticDataFixture : IDisposable
{
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
        "train", "--job", "cpu-small", "--devices", "cpu:2", "--report-every", "5",
        "--set", $"data.root={Data}", "--set", "data.generate_if_missing=false",
        "--set", $"checkpoint.dir={runDir}", "--set", $"checkpoint.every_steps={checkpointEvery}", "--set", "checkpoint.keep_last=1",
        "--set", $"train.max_steps={maxSteps}", "--set", "eval.every_steps=0", "--set", "eval.batches=1",
        "--set", "optimizer.warmup_steps=2", "--set", "routing.tau_decay_steps=20",
        .. extra,
    ];

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
