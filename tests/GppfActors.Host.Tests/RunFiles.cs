using System.Security.Cryptography;
using System.Text.Json;
using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>Byte-level comparisons of what runs leave on disk.</summary>
public static class RunFiles
{
    /// <summary>
    /// Asserts that checkpoint <paramref name="step"/> of two runs holds byte-identical model and
    /// optimizer files and the same sampler and schedule state (the epoch and metadata may differ:
    /// they say how the run got there, not what it computed).
    /// </summary>
    public static void AssertSameState(string expectedRun, string actualRun, long step)
    {
        var expected = Path.Combine(expectedRun, CheckpointLayout.DirectoryName(step));
        var actual = Path.Combine(actualRun, CheckpointLayout.DirectoryName(step));
        foreach (var file in new[] { CheckpointLayout.ModelFile, CheckpointLayout.OptimizerFile })
        {
            var a = File.ReadAllBytes(Path.Combine(expected, file));
            var b = File.ReadAllBytes(Path.Combine(actual, file));
            Assert.True(a.AsSpan().SequenceEqual(b),
                $"{file} of step {step} differs: {Convert.ToHexStringLower(SHA256.HashData(a))} vs {Convert.ToHexStringLower(SHA256.HashData(b))}");
        }
        using var left = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(expected, CheckpointLayout.StateFile)));
        using var right = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(actual, CheckpointLayout.StateFile)));
        foreach (var part in new[] { "sampler", "schedule", "step" })
        {
            Assert.Equal(left.RootElement.GetProperty(part).GetRawText(), right.RootElement.GetProperty(part).GetRawText());
        }
    }

    /// <summary>The committed steps a run's output reports, in order.</summary>
    public static IReadOnlyList<long> CommittedSteps(string output) =>
        output.Split('\n').Select(line => line.Trim())
            .Where(line => line.StartsWith("checkpoint step ", StringComparison.Ordinal) && line.Contains(" committed", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
}
