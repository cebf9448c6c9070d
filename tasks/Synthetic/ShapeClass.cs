namespace GppfActors.Tasks.Synthetic;

/// <summary>The object classes the synthetic data set draws; the enum value is the class index.</summary>
public enum ShapeClass
{
    Circle,
    Square,
    Triangle,
    Cross,
    Ring,
}

/// <summary>Class names as they appear in folder names, COCO categories and the manifest.</summary>
public static class ShapeClasses
{
    public static readonly IReadOnlyList<ShapeClass> All = Enum.GetValues<ShapeClass>();

    public static string NameOf(ShapeClass shape) => shape.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> Names => [.. All.Select(NameOf)];
}
