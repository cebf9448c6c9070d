namespace GppfActors.Model.Optim;

/// <summary>Which update rule <see cref="Optimizers.Create"/> builds.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum and L2 weight decay (<see cref="SgdMomentum"/>).</summary>
    Sgd,

    /// <summary>Adam with decoupled weight decay (<see cref="AdamW"/>).</summary>
    AdamW,
}
