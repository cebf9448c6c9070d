using System.Diagnostics;

namespace GppfActors.Testing;

/// <summary>Waits for a condition that other processes or actor systems make true.</summary>
public static class Poll
{
    /// <summary>True as soon as <paramref name="condition"/> holds, polled every 50 ms; false after <paramref name="seconds"/>.</summary>
    public static bool Until(Func<bool> condition, double seconds)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(50);
        }
        return condition();
    }
}
