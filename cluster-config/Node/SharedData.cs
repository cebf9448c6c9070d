using System.Diagnostics;
using GppfActors.ClusterConfig.Jobs;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// Generates the synthetic data set once when several node processes on one machine (or on one
/// shared folder) start at the same time: the first takes an exclusive lock next to <c>data.root</c>
/// and writes the set, the others wait for the lock and then find it there.
/// </summary>
public static class SharedData
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromMinutes(10);

    public static void Ensure(JobConfig job, Action<string> log)
    {
        if (!job.Data.GenerateIfMissing)
        {
            return;
        }
        var root = Path.GetFullPath(job.Data.Root);
        Directory.CreateDirectory(Path.GetDirectoryName(root)!);
        var lockPath = root.TrimEnd(Path.DirectorySeparatorChar) + ".lock";
        using var held = TakeLock(lockPath);
        RunPreparation.EnsureData(job, log);
    }

    private static FileStream TakeLock(string lockPath)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < WaitLimit)
            {
                // Another process is generating the set; it is there once the lock is free.
                Thread.Sleep(200);
            }
        }
    }
}
