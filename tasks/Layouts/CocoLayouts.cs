using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// The detection sets that ship COCO JSON: COCO 2017, LVIS v1 (COCO 2017's images, its own JSON) and Objects365.
/// Each is read by <see cref="CocoReader"/> in its dialect; they differ in where the JSON and images lie.
/// </summary>
public static class CocoLayouts
{
    /// <summary>
    /// <c>coco:PATH</c>: the project's own form (PATH/SPLIT/annotations.json + images/) where it exists, otherwise COCO
    /// 2017 as distributed, PATH/annotations/instances_{train,val}2017.json with images in PATH/{train,val}2017.
    /// </summary>
    public static DatasetLayout Coco { get; } = new("coco", null,
        "PATH/SPLIT/annotations.json + images/, or COCO 2017: PATH/annotations/instances_{train,val}2017.json + PATH/{train,val}2017/", OpenCoco);

    /// <summary><c>lvis:PATH</c>: PATH/[annotations/]lvis_v1_{train,val}.json over COCO 2017's PATH/{train,val}2017 images.</summary>
    public static DatasetLayout Lvis { get; } = new("lvis", TaskFamily.Detection,
        "PATH/[annotations/]lvis_v1_{train,val}.json, images by coco_url in PATH/{train,val}2017/", OpenLvis, HasInstanceMasks: true);

    /// <summary><c>objects365:PATH</c>: PATH/annotations/zhiyuan_objv2_{train,val}.json (v2) or objects365_{train,val}.json (v1), images under PATH/{train,val}.</summary>
    public static DatasetLayout Objects365 { get; } = new("objects365", TaskFamily.Detection,
        "PATH/annotations/zhiyuan_objv2_{train,val}.json (or objects365_{train,val}.json), images under PATH/{train,val}/", OpenObjects365);

    private static ITaskDataset OpenCoco(LayoutRequest request)
    {
        var own = Path.Combine(request.Root, request.Split, "annotations.json");
        if (File.Exists(own))
        {
            return CocoDetectionDataset.Open(request.Name, own, Path.Combine(request.Root, request.Split, "images"), CocoFlavor.Coco, request.Labels, request.Report, request.InstanceMasks);
        }
        var split = request.SplitName("train2017", "val2017");
        var json = Path.Combine(request.Root, "annotations", $"instances_{split}.json");
        if (!File.Exists(json))
        {
            throw new DataFormatException(json, $"file not found (nor the project's own form, {own})");
        }
        return CocoDetectionDataset.Open(request.Name, json, Path.Combine(request.Root, split), CocoFlavor.Coco, request.Labels, request.Report, request.InstanceMasks);
    }

    private static ITaskDataset OpenLvis(LayoutRequest request)
    {
        var split = request.SplitName("train", "val");
        var json = LayoutFiles.FirstExisting(request.Root, "LVIS annotation file", Path.Combine("annotations", $"lvis_v1_{split}.json"), $"lvis_v1_{split}.json");
        return CocoDetectionDataset.Open(request.Name, json, request.Root, CocoFlavor.Lvis, request.Labels, request.Report, request.InstanceMasks);
    }

    private static ITaskDataset OpenObjects365(LayoutRequest request)
    {
        var split = request.SplitName("train", "val");
        var json = LayoutFiles.FirstExisting(request.Root, "Objects365 annotation file",
            Path.Combine("annotations", $"zhiyuan_objv2_{split}.json"), Path.Combine("annotations", $"objects365_{split}.json"));
        var images = LayoutFiles.FirstExisting(request.Root, "Objects365 image folder", split, Path.Combine("images", split));
        return CocoDetectionDataset.Open(request.Name, json, images, CocoFlavor.Objects365, request.Labels, request.Report, request.InstanceMasks);
    }
}
