using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// A backbone with one unit per lego layer, what a task's path becomes after extraction: its state
/// keys follow torchvision (<see cref="StaticResNet"/>, <see cref="StaticSwin"/>) and it returns the
/// same stage outputs as the dynamic backbone along that path.
/// </summary>
public abstract class StaticBackbone : nn.Module
{
    /// <summary>Validates <paramref name="config"/> and names the module.</summary>
    protected StaticBackbone(string name, BackboneConfig config) : base(name)
    {
        Config = config.Validate();
    }

    /// <summary>The validated configuration.</summary>
    public BackboneConfig Config { get; }

    /// <summary>Runs the network and returns each stage's output, [B, C, H, W].</summary>
    public abstract IReadOnlyList<Tensor> forward(Tensor input);

    /// <summary>The state key of the dynamic backbone that feeds static key <paramref name="key"/> when layer l runs unit path[l].</summary>
    internal abstract string DynamicKey(string key, IReadOnlyList<int> path);
}
