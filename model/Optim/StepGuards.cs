namespace GppfActors.Model.Optim;

/// <summary>Argument checks shared by the optimizers' <c>Step</c> methods.</summary>
internal static class StepGuards
{
    /// <summary>Throws unless <paramref name="lr"/> is finite and non-negative; a NaN rate would silently destroy every parameter.</summary>
    public static void RequireLearningRate(double lr)
    {
        if (!(lr >= 0 && double.IsFinite(lr)))
        {
            throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be finite and >= 0");
        }
    }
}
