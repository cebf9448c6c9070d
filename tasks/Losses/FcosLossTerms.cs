using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

/// <summary>The FCOS loss terms of one batch, each a scalar; <see cref="Total"/> is what is back-propagated.</summary>
/// <param name="Total">Classification + box + centerness.</param>
/// <param name="Classification">Focal loss over all locations and classes, per positive.</param>
/// <param name="Box">Centerness-weighted mean GIoU loss over positives.</param>
/// <param name="Centerness">Centerness BCE over positives, per positive.</param>
/// <param name="NumPositives">Locations with an assigned box (float32).</param>
public sealed record FcosLossTerms(Tensor Total, Tensor Classification, Tensor Box, Tensor Centerness, Tensor NumPositives);
