using System.Globalization;

namespace GppfActors.Bench.Loader;

/// <summary>Command-line settings of the index benchmark (<c>--index-tree</c>).</summary>
internal sealed record IndexBenchOptions(string WorkDir, int NumClasses, int FilesPerClass, bool HardLinks)
{
    public const string Usage = "usage: GppfActors.Bench.Loader --index-tree NEW_DIR [--classes 1000] [--files-per-class 1000] [--hard-links]";

    public static IndexBenchOptions Parse(string[] args)
    {
        string? dir = null;
        int classes = 1000;
        int files = 1000;
        var hardLinks = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--index-tree":
                    dir = Value();
                    break;
                case "--classes":
                    classes = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--files-per-class":
                    files = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--hard-links":
                    hardLinks = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        if (dir is null || classes < 1 || files < 1)
        {
            throw new ArgumentException("--index-tree needs a folder, and --classes and --files-per-class must be positive");
        }
        if (hardLinks && files > 65_000)
        {
            throw new ArgumentException("--hard-links: ext4 allows 65,000 links per file, so at most 65,000 files per class");
        }
        return new IndexBenchOptions(dir, classes, files, hardLinks);
    }
}
