using GppfActors.Tasks.Synthetic;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>A tiny synthetic data set (all tasks, 20 train / 10 val images) generated once per test class.</summary>
public sealed class SynthData : IDisposable
{
    private readonly TempDirectory dir = new();

    public SynthData()
    {
        Options = new SynthOptions { Seed = 11, NumTrain = 20, NumVal = 10 };
        Manifest = SyntheticDatasetWriter.Write(dir.Path, Options);
    }

    public string Root => dir.Path;

    public SynthOptions Options { get; }

    public SynthManifest Manifest { get; }

    public void Dispose() => dir.Dispose();
}
