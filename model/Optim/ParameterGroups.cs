using TorchSharp.Modules;

namespace GppfActors.Model.Optim;

/// <summary>Decides which parameters receive weight decay, so both optimizers split parameters the same way.</summary>
/// <remarks>
/// Rule: no decay for tensors with at most one dimension (biases, BatchNorm/LayerNorm scales and shifts,
/// scalars) and none for anything under <c>controllers.</c> (the Gumbel controller logits). Everything
/// else, i.e. conv and linear weights, decays. Decaying a bias or a norm scale only pulls it towards
/// zero without regularising capacity, and decaying the controller logits would push every
/// task's path choice towards uniform, which fights the very decision the controllers are learning.
/// The controller logits are 2-D, so the name prefix is needed; dimension alone would decay them.
/// Swin's relative position bias tables (2-D) are not decayed either, as in Swin's own training
/// recipe: they are biases of the attention logits, not weights.
/// </remarks>
public static class ParameterGroups
{
    /// <summary>Name prefix of the Gumbel controller logits, which are excluded from decay.</summary>
    public const string ControllerPrefix = "controllers.";

    /// <summary>Name suffix of Swin's relative position bias tables, which are excluded from decay.</summary>
    public const string RelativePositionBiasSuffix = ".relative_position_bias_table";

    /// <summary>True when <paramref name="p"/>, registered as <paramref name="name"/>, should get weight decay.</summary>
    public static bool UsesWeightDecay(string name, Parameter p)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(p);
        if (p.dim() <= 1)
        {
            return false;
        }

        return !name.StartsWith(ControllerPrefix, StringComparison.Ordinal)
            && !name.EndsWith(RelativePositionBiasSuffix, StringComparison.Ordinal);
    }
}
