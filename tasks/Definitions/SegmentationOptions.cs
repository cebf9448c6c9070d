namespace GppfActors.Tasks.Definitions;

/// <summary>Semantic segmentation options: the UperNet-lite head's width and pyramid pooling bins (UperNet: 512 channels, bins 1, 2, 3, 6).</summary>
/// <param name="HeadChannels">Channels of the decoder's laterals, pyramid pooling and fusion convolutions.</param>
/// <param name="PoolScales">Output sizes of the pyramid pooling module on the last stage; empty disables it.</param>
public sealed record SegmentationOptions(int HeadChannels = 512, IReadOnlyList<int>? PoolScales = null)
{
    /// <summary>The label that marks pixels without a class (the loader's contract and every segmentation benchmark's).</summary>
    public const int IgnoreIndex = 255;

    /// <summary>The pooling bins in use.</summary>
    public IReadOnlyList<int> Bins => PoolScales ?? [1, 2, 3, 6];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key under <paramref name="prefix"/>.</summary>
    public void Validate(string prefix)
    {
        ConfigCheck.AtLeast(HeadChannels, 1, $"{prefix}.head_channels");
        ConfigCheck.Require(Bins.All(b => b >= 1), $"{prefix}.pool_scales", "must all be >= 1", $"[{string.Join(", ", Bins)}]");
    }
}
