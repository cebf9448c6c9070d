namespace GppfActors.Model.Routing;

/// <summary>How a task's controller turns its logits into unit choices for one forward pass.</summary>
public enum RoutingMode
{
    /// <summary>Gumbel-Softmax weights; every unit runs and the layer output is their weighted sum (the paper's default).</summary>
    Soft,

    /// <summary>Straight-through Gumbel-Softmax; only the sampled unit runs (1/N of the activation memory).</summary>
    Hard,

    /// <summary>Evaluation: the arg-max unit of each layer runs, no noise, no controller gradient.</summary>
    ArgMax,
}
