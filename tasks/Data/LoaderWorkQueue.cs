namespace GppfActors.Tasks.Data;

/// <summary>
/// The loader workers' job queue, in two lanes: samples someone is waiting for right now (a Get whose hint
/// missed) are taken before prefetch work, so a miss is not stuck behind the decoding of later steps.
/// </summary>
internal sealed class LoaderWorkQueue<T>
{
    private readonly Queue<T> urgent = new();
    private readonly Queue<T> background = new();
    private readonly object sync = new();
    private bool completed;

    public void Add(T item, bool isUrgent)
    {
        lock (sync)
        {
            ObjectDisposedException.ThrowIf(completed, this);
            (isUrgent ? urgent : background).Enqueue(item);
            Monitor.Pulse(sync);
        }
    }

    /// <summary>Blocks until a job is available (urgent first); false once the queue is completed and drained.</summary>
    public bool TryTake(out T item)
    {
        lock (sync)
        {
            while (true)
            {
                if (urgent.TryDequeue(out item!) || background.TryDequeue(out item!))
                {
                    return true;
                }
                if (completed)
                {
                    return false;
                }
                // No time-out needed: Complete wakes every waiting worker, and an idle worker is not a hang.
                Monitor.Wait(sync);
            }
        }
    }

    /// <summary>No more jobs: workers finish what is queued (cancelled batches cost nothing) and exit.</summary>
    public void Complete()
    {
        lock (sync)
        {
            completed = true;
            Monitor.PulseAll(sync);
        }
    }
}
