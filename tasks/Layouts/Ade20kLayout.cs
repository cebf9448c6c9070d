using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// <c>ade20k:PATH</c>: ADEChallengeData2016, images/{training,validation}/*.jpg paired with
/// annotations/{training,validation}/*.png (8-bit, 0 = other, 1..150 = classes). Label 0 is ignored and 1..150
/// become 0..149, as the standard benchmark's <c>reduce_zero_label</c> does.
/// </summary>
public static class Ade20kLayout
{
    public const int NumClasses = 150;

    public static DatasetLayout Layout { get; } = new("ade20k", TaskFamily.SemanticSegmentation,
        "PATH/images/{training,validation}/*.jpg + PATH/annotations/{training,validation}/*.png; 0 -> ignore, 1..150 -> 0..149", Open);

    public static ITaskDataset Open(LayoutRequest request)
    {
        var split = request.SplitName("training", "validation");
        var pairs = LayoutFiles.PairByStem(request, Path.Combine(request.Root, "images", split), Path.Combine(request.Root, "annotations", split));
        return new SegmentationFolderDataset(request.Name, pairs, LabelMaskFile.Read, MaskLabelMap.ReduceZeroLabel(NumClasses), request.Labels);
    }
}
