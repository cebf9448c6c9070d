namespace GppfActors.Actors.Coordinator;

/// <summary>
/// The retry budget of a step: a step discarded more than <c>maxRetries</c> times in a row fails the
/// run, so a failure that repeats deterministically (a collective mismatch, a device that fails the
/// same way every time) ends the run with its cause instead of looping. Pure.
/// </summary>
public sealed class StepRetries(int maxRetries)
{
    private long step = -1;
    private int attempts;

    /// <summary>Retries allowed per step.</summary>
    public int MaxRetries { get; } = maxRetries >= 0 ? maxRetries : throw new ArgumentOutOfRangeException(nameof(maxRetries));

    /// <summary>Records that <paramref name="discardedStep"/> was discarded; false when that exceeds the budget.</summary>
    public bool Discarded(long discardedStep)
    {
        if (discardedStep != step)
        {
            step = discardedStep;
            attempts = 0;
        }
        attempts++;
        return attempts <= MaxRetries;
    }

    /// <summary>How many times the current step was discarded.</summary>
    public int Attempts => attempts;
}
