using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// <c>kitti-depth:PATH</c>: KITTI's annotated depth beside the raw drives it was made from, as both archives
/// extract: PATH/data_depth_annotated/{train,val}/DRIVE/proj_depth/groundtruth/image_0{2,3}/FRAME.png (uint16,
/// metres = value / 256, 0 = no measurement) with its image PATH/raw/DATE/DRIVE/image_0{2,3}/data/FRAME.png,
/// DATE being the drive name's first ten characters (2011_09_26_drive_0001_sync -> 2011_09_26). Only frames with
/// a depth map are samples; a depth map whose image is missing is an error naming both.
/// </summary>
public static class KittiDepthLayout
{
    public static DatasetLayout Layout { get; } = new("kitti-depth", TaskFamily.Depth,
        "PATH/data_depth_annotated/{train,val}/DRIVE/proj_depth/groundtruth/image_0{2,3}/*.png (value/256 m, 0 = none) + PATH/raw/DATE/DRIVE/image_0{2,3}/data/*.png", Open);

    private static readonly string[] Cameras = ["image_02", "image_03"];

    public static ITaskDataset Open(LayoutRequest request)
    {
        var split = LayoutFiles.RequireDirectory(Path.Combine(request.Root, "data_depth_annotated", request.SplitName("train", "val")), "one folder per drive");
        var pairs = new List<PairedSample>();
        foreach (var drive in Directory.GetDirectories(split).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            if (drive is null || drive.Length < 10)
            {
                request.Problem(new DataFormatException(Path.Combine(split, drive ?? ""), "not a KITTI drive folder (expected e.g. 2011_09_26_drive_0001_sync)"));
                continue;
            }
            foreach (var camera in Cameras)
            {
                var depthDir = Path.Combine(split, drive, "proj_depth", "groundtruth", camera);
                if (!Directory.Exists(depthDir))
                {
                    continue;
                }
                var imageDir = Path.Combine(request.Root, "raw", drive[..10], drive, camera, "data");
                foreach (var depth in Directory.GetFiles(depthDir, "*.png").Order(StringComparer.Ordinal))
                {
                    var image = Path.Combine(imageDir, Path.GetFileName(depth));
                    if (File.Exists(image))
                    {
                        pairs.Add(new PairedSample(image, depth));
                    }
                    else
                    {
                        request.Problem(new DataFormatException(image, $"file not found (the raw image of depth map {depth})"));
                    }
                }
            }
        }
        if (pairs.Count == 0 && request.Report is null)
        {
            throw new DataFormatException(split, "no depth maps (expected DRIVE/proj_depth/groundtruth/image_02/*.png)");
        }
        return new DepthFolderDataset(request.Name, pairs);
    }
}
