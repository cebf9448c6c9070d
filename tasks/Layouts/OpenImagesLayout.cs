using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// <c>openimages:PATH</c>: Open Images V6 as downloaded: images in PATH/{train,validation}/ImageID.jpg, boxes in
/// the one PATH/[annotations/]*{train,validation}*bbox.csv (oidv6-train-annotations-bbox.csv,
/// validation-annotations-bbox.csv, or the challenge-2019 detection files), classes in the class-descriptions CSV
/// (the boxable or the challenge's 500-class list is preferred when several description files lie there).
/// </summary>
public static class OpenImagesLayout
{
    public static DatasetLayout Layout { get; } = new("openimages", TaskFamily.Detection,
        "PATH/{train,validation}/<ImageID>.jpg, PATH/[annotations/]*{train,validation}*bbox.csv, *class*description*.csv", Open);

    public static ITaskDataset Open(LayoutRequest request)
    {
        var split = request.SplitName("train", "validation");
        var folders = new[] { request.Root, Path.Combine(request.Root, "annotations") }.Where(Directory.Exists).ToArray();
        if (folders.Length == 0)
        {
            throw new DataFormatException(request.Root, "folder not found (expected the Open Images CSVs and image folders)");
        }
        var boxFile = One(request.Root, folders, $"*{split}*bbox.csv", $"box CSV of the {split} split");
        var descriptions = folders.SelectMany(f => Directory.GetFiles(f, "*class*description*.csv")).Order(StringComparer.Ordinal).ToArray();
        var preferred = descriptions.Where(f => Path.GetFileName(f).Contains("boxable", StringComparison.Ordinal) || Path.GetFileName(f).Contains("-500", StringComparison.Ordinal)).ToArray();
        var classFile = preferred.Length == 1 ? preferred[0] : descriptions.Length == 1 ? descriptions[0]
            : throw new DataFormatException(request.Root, descriptions.Length == 0
                ? "no class-descriptions CSV (*class*description*.csv)"
                : $"several class-descriptions CSVs and no single boxable/500-class one: {string.Join(", ", descriptions)}");
        var images = LayoutFiles.RequireDirectory(Path.Combine(request.Root, split), "the split's images, <ImageID>.jpg");
        var index = OpenImagesReader.Read(classFile, boxFile, images, request.Report);
        return new OpenImagesDataset(request.Name, index, request.Labels);
    }

    private static string One(string root, string[] folders, string pattern, string what)
    {
        var found = folders.SelectMany(f => Directory.GetFiles(f, pattern)).Order(StringComparer.Ordinal).ToArray();
        return found.Length == 1 ? found[0] : throw new DataFormatException(root, found.Length == 0
            ? $"no {what} ({pattern})"
            : $"several files match {pattern}: {string.Join(", ", found)}");
    }
}
