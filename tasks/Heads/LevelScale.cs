using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

/// <summary>A learnable scalar multiplier, one per pyramid level (FCOS): the shared box branch sees objects of very different sizes per level. Key: scale.</summary>
public sealed class LevelScale : nn.Module<Tensor, Tensor>
{
    private readonly Parameter scale;

    /// <summary>Starts at 1.</summary>
    public LevelScale() : base(nameof(LevelScale))
    {
        scale = new Parameter(ones(1));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => input * scale;
}
