namespace GppfActors.Model.Optim;

/// <summary>Builds the optimizer a validated <see cref="OptimizerConfig"/> asks for; the caller owns the result.</summary>
public static class Optimizers
{
    /// <summary>Validates <paramref name="config"/> and creates the matching optimizer over <paramref name="parameters"/>.</summary>
    public static IGppfOptimizer Create(OptimizerConfig config, IReadOnlyList<NamedParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config.Kind switch
        {
            OptimizerKind.Sgd => new SgdMomentum(parameters, config.Momentum, config.WeightDecay),
            OptimizerKind.AdamW => new AdamW(parameters, config.WeightDecay, config.Beta1, config.Beta2, config.Eps),
            // Validate rejects undefined kinds; this arm only guards a kind added without a case here.
            _ => throw new ArgumentException($"optimizer.kind {config.Kind} has no implementation", nameof(config)),
        };
    }
}
