using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// The feed-forward half of a <see cref="SwinBlock"/>: Linear, GELU, Linear. Its linear layers are
/// registered as <c>0</c> and <c>3</c>, torchvision's positions (GELU at 1 and dropout at 2 hold no
/// state), and follow the thread's compute precision (<see cref="Autocast"/>), which a Sequential's
/// plain forward would not.
/// </summary>
public sealed class SwinMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>An MLP from <paramref name="dim"/> through <paramref name="hidden"/> channels back to <paramref name="dim"/>, initialised as Swin's.</summary>
    public SwinMlp(long dim, long hidden, Generator generator) : base(nameof(SwinMlp))
    {
        fc1 = nn.Linear(dim, hidden);
        fc2 = nn.Linear(hidden, dim);
        SwinInit.Linear(fc1, generator);
        SwinInit.Linear(fc2, generator);
        // Registered by hand: the keys are positions, as in torchvision's Sequential.
        register_module("0", fc1);
        register_module("3", fc2);
    }

    // The children are registered by position in the constructor; the default registration would add
    // them again under their field names (a parent's RegisterComponents calls this one's).
    protected override void RegisterComponents()
    {
    }

    public override Tensor forward(Tensor input) =>
        fc2.AutocastForward(nn.functional.gelu(fc1.AutocastForward(input)));   // [..., C] -> [..., hidden] -> [..., C]
}
