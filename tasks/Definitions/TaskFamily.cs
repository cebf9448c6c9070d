namespace GppfActors.Tasks.Definitions;

/// <summary>The kind of perception task: decides the head, the loss, the decoder and the metrics.</summary>
/// <remarks>Values are explicit because presets and checkpoints name them.</remarks>
public enum TaskFamily
{
    /// <summary>Image classification: global pooling plus a linear layer, cross-entropy, top-1/top-5.</summary>
    Classification = 0,

    /// <summary>Object detection: FCOS-style one-stage head, focal + GIoU + centerness losses, COCO AP.</summary>
    Detection = 1,

    /// <summary>Semantic segmentation: UperNet-lite head, cross-entropy with ignore index 255, mIoU.</summary>
    SemanticSegmentation = 2,

    /// <summary>Monocular depth: dense positive regression, SILog loss, KITTI depth metrics.</summary>
    Depth = 3,

    /// <summary>Instance segmentation: the detection head plus a CondInst-style dynamic mask head, detection losses + dice mask loss, COCO mask AP.</summary>
    InstanceSegmentation = 4,
}
