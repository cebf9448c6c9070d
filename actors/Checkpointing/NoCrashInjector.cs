namespace GppfActors.Actors.Checkpointing;

/// <summary>The production crash injector: every point passes without effect.</summary>
public sealed class NoCrashInjector : ICrashInjector
{
    /// <summary>The one instance; it has no state.</summary>
    public static NoCrashInjector Instance { get; } = new();

    private NoCrashInjector()
    {
    }

    /// <inheritdoc />
    public void Hit(string point, long step)
    {
    }
}
