namespace GppfActors.Model.Backbone;

/// <summary>Architecture family of a backbone: which units its lego layers hold.</summary>
public enum BackboneFamily
{
    /// <summary>ResNet: the stem and every residual block are lego layers (BatchNorm, SyncBN across devices).</summary>
    ResNet,

    /// <summary>Swin Transformer: the patch embedding and every Swin block are lego layers (LayerNorm, no cross-device statistics).</summary>
    Swin,
}
