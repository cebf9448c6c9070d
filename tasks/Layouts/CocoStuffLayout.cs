using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// <c>coco-stuff:PATH</c>: COCO-Stuff 164k, images/{train2017,val2017}/*.jpg paired with
/// stuffthingmaps/{train2017,val2017}/*.png (the stuffthingmaps_trainval2017 archive: value = category id - 1,
/// 255 = unlabeled). The 171 ids COCO-Stuff uses become 0..170 (<see cref="MaskLabelMap.CocoStuff"/>).
/// </summary>
public static class CocoStuffLayout
{
    public static DatasetLayout Layout { get; } = new("coco-stuff", TaskFamily.SemanticSegmentation,
        "PATH/images/{train2017,val2017}/*.jpg + PATH/stuffthingmaps/{train2017,val2017}/*.png; ids 0..181 -> the 171 used as 0..170, 255 ignore", Open);

    public static ITaskDataset Open(LayoutRequest request)
    {
        var split = request.SplitName("train2017", "val2017");
        var pairs = LayoutFiles.PairByStem(request, Path.Combine(request.Root, "images", split), Path.Combine(request.Root, "stuffthingmaps", split));
        return new SegmentationFolderDataset(request.Name, pairs, LabelMaskFile.Read, MaskLabelMap.CocoStuff, request.Labels);
    }
}
