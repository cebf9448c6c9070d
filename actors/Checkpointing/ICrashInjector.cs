namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// A hook the checkpoint code calls at each <see cref="CrashPoints"/> point; production passes one
/// that does nothing, crash tests pass one that throws or kills the process there.
/// </summary>
public interface ICrashInjector
{
    /// <summary>Called when the checkpoint of <paramref name="step"/> reaches <paramref name="point"/>.</summary>
    void Hit(string point, long step);
}
