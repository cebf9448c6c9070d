using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// A detection data set over Open Images CSVs: boxes stored as fractions of the image are scaled to pixels when the
/// image is decoded (the CSVs carry no image sizes). Group-of boxes are kept in the index but not handed to the
/// loss, as COCO's crowd regions are not: one box around many instances is not an object the one-stage head
/// should learn to regress, and the challenge's metric itself treats it apart (any detection inside counts once).
/// </summary>
public sealed class OpenImagesDataset : ITaskDataset
{
    private readonly OpenImagesIndex index;

    /// <summary>With <paramref name="labels"/>, refuses a class file with more classes than the head holds.</summary>
    public OpenImagesDataset(string name, OpenImagesIndex index, LabelRange? labels = null)
    {
        Name = name;
        this.index = index;
        if (labels is not null && index.Classes.Count > labels.NumClasses)
        {
            var first = index.Classes[labels.NumClasses];
            throw DataFormatException.AtLine(index.ClassFile, first.Line,
                $"class {first.LabelName} ('{first.DisplayName}') gets index {labels.NumClasses} (classes are numbered in file order), " +
                $"{labels.Rule}; the file has {index.Classes.Count} classes");
        }
    }

    public string Name { get; }

    public int Count => index.Images.Count;

    /// <summary>Display names by class index.</summary>
    public IReadOnlyList<string> ClassNames => [.. index.Classes.Select(c => c.DisplayName)];

    /// <summary>Group-of boxes over the whole split, counted for the data check.</summary>
    public int NumGroupOfBoxes => index.Images.Sum(i => i.Boxes.Count(b => b.IsGroupOf));

    public DecodedSample Decode(long index)
    {
        var entry = this.index.Images[checked((int)index)];
        var image = RgbImageFile.Read(entry.FilePath);
        var boxes = entry.Boxes
            .Where(b => !b.IsGroupOf)
            .Select(b => new BoxAnnotation(b.XMin * image.Width, b.YMin * image.Height, b.XMax * image.Width, b.YMax * image.Height, b.Label))
            .ToArray();
        return new DecodedSample { Image = image, SourcePath = entry.FilePath, Boxes = boxes };
    }

    public string SourceOf(long index) => this.index.Images[checked((int)index)].FilePath;
}
