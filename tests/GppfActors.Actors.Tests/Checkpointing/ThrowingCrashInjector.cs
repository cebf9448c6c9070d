using GppfActors.Actors.Checkpointing;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>Stands in for a crash inside the test process: throws at one point instead of killing the process.</summary>
internal sealed class ThrowingCrashInjector : ICrashInjector
{
    private readonly string _crashPoint;

    public ThrowingCrashInjector(string crashPoint) => _crashPoint = crashPoint;

    public void Hit(string point, long step)
    {
        if (point == _crashPoint)
        {
            throw new SimulatedCrashException(point, step);
        }
    }
}

/// <summary>The exception a <see cref="ThrowingCrashInjector"/> throws.</summary>
internal sealed class SimulatedCrashException(string point, long step) : Exception($"simulated crash at {point} of step {step}");
