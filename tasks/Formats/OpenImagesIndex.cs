namespace GppfActors.Tasks.Formats;

/// <summary>
/// One split of Open Images as its CSVs describe it: the boxable classes in the order of the class-descriptions file
/// (a class's index is its position there) and every image that has at least one box, with its boxes.
/// </summary>
public sealed class OpenImagesIndex
{
    public OpenImagesIndex(string classFile, string boxFile, IReadOnlyList<OpenImagesClass> classes, IReadOnlyList<OpenImagesImage> images)
    {
        ClassFile = classFile;
        BoxFile = boxFile;
        Classes = classes;
        Images = images;
    }

    /// <summary>The class-descriptions CSV, named when a class index is out of the head's range.</summary>
    public string ClassFile { get; }

    /// <summary>The <c>*-annotations-bbox.csv</c> the boxes came from.</summary>
    public string BoxFile { get; }

    public IReadOnlyList<OpenImagesClass> Classes { get; }

    /// <summary>Images in the order their first box appears in the box file.</summary>
    public IReadOnlyList<OpenImagesImage> Images { get; }
}

/// <summary>A boxable class: its machine id (<c>/m/011k07</c>), display name and line in the class file.</summary>
public sealed record OpenImagesClass(string LabelName, string DisplayName, int Line);

/// <summary>An image file and its boxes.</summary>
public sealed record OpenImagesImage(string ImageId, string FilePath, IReadOnlyList<OpenImagesBox> Boxes);

/// <summary>
/// One box as the CSV stores it: corners as fractions of the image's width and height, the class index, and whether
/// it is a group-of box (one box around five or more touching instances of the class).
/// </summary>
public readonly record struct OpenImagesBox(float XMin, float YMin, float XMax, float YMax, int Label, bool IsGroupOf);
