using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// Runs that a spec means to kill at a checkpoint (<c>GPPF_CRASH_AT</c>). A checkpoint whose
/// predecessor is still being written or committed is skipped by design (training never waits
/// for storage), and on a busy machine that can be the very checkpoint the crash aims at: the
/// process then finishes instead of dying, which proves nothing either way. Such an attempt is run
/// again in a fresh folder, at most <see cref="Attempts"/> times; the skip is printed.
/// </summary>
internal static class CrashRuns
{
    public const int Attempts = 3;

    /// <summary>True when the output reports a checkpoint skipped because another was still in progress.</summary>
    public static bool Skipped(string runOutput) => runOutput.Contains("not saved: skipped", StringComparison.Ordinal);

    /// <summary>
    /// Runs gppf with <paramref name="arguments"/> of a run folder (<paramref name="folder"/> of the
    /// attempt number) until an attempt is not a skipped one; returns that attempt's result and folder.
    /// </summary>
    public static (GppfProcess.Result Result, string Folder) RunUntilCrashed(string workingDirectory, Func<int, string> folder,
        Func<string, IEnumerable<string>> arguments, IReadOnlyDictionary<string, string> environment, ITestOutputHelper output)
    {
        for (int attempt = 1; ; attempt++)
        {
            string run = folder(attempt);
            var result = GppfProcess.Run(workingDirectory, arguments(run), environment);
            output.WriteLine(result.Output);
            if (result.KilledBySigkill || !Skipped(result.Output) || attempt == Attempts)
            {
                return (result, run);
            }
            output.WriteLine($"attempt {attempt}: a checkpoint was skipped before the crash point was reached; again in a fresh folder");
        }
    }
}
