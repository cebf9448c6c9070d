namespace GppfActors.Tasks.Losses;

/// <summary>Which batch-level mixing a classification step applied.</summary>
public enum MixKind
{
    /// <summary>Not mixed (the batch's mix probability draw failed, or mixing is off).</summary>
    None,

    /// <summary>Pixel-wise blend with the reversed batch.</summary>
    Mixup,

    /// <summary>A rectangle pasted from the reversed batch.</summary>
    Cutmix,
}
