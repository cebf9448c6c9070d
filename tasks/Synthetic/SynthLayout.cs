namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// Where each task and split of the synthetic data set lives on disk; the writer, the loaders and the tests
/// all ask here, so the layout is spelled once.
/// </summary>
/// <remarks>
/// DIR/manifest.json;
/// DIR/classification/{train,val}/&lt;class&gt;/NNNNN_&lt;domain&gt;.png;
/// DIR/detection/{train,val}/images/*.png and annotations.json (COCO);
/// DIR/segmentation/{train,val}/images/*.png and masks/*.png;
/// DIR/depth/{train,val}/images/*.png and depth/*.png (16-bit).
/// </remarks>
public static class SynthLayout
{
    public const string ManifestFile = "manifest.json";

    public static readonly IReadOnlyList<string> Splits = ["train", "val"];

    public static string TaskName(SynthTask task) => task.ToString().ToLowerInvariant();

    public static string SplitDir(string root, SynthTask task, string split) => Path.Combine(root, TaskName(task), split);

    public static string ImageDir(string root, SynthTask task, string split) => Path.Combine(SplitDir(root, task, split), "images");

    public static string CocoFile(string root, string split) => Path.Combine(SplitDir(root, SynthTask.Detection, split), "annotations.json");

    public static string MaskDir(string root, string split) => Path.Combine(SplitDir(root, SynthTask.Segmentation, split), "masks");

    public static string DepthDir(string root, string split) => Path.Combine(SplitDir(root, SynthTask.Depth, split), "depth");

    /// <summary>File name of image <paramref name="index"/>; the domain is in the name so results can be split by domain.</summary>
    public static string FileName(int index, SceneDomain domain) => $"{index:D5}_{SceneDomains.NameOf(domain)}.png";
}
